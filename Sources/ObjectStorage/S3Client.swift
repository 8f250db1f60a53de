import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// An S3 client for one bucket on AsyncHTTPClient: every request signed with SigV4, S3's
/// refusals thrown as `S3ServiceError`, an unreachable endpoint as `S3TransportError`.
/// Call `shutdown()` before dropping it.
public final class S3Client: Sendable {
    public let configuration: S3Configuration
    let builder: S3RequestBuilder
    let http: HTTPClient
    /// The signing time; tests fix it.
    let clock: @Sendable () -> Date

    /// Reads the credentials now; throws when they or the CA file cannot be read.
    public convenience init(configuration: S3Configuration,
                            eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        try self.init(configuration: configuration, credentials: configuration.credentials.resolve(),
                      eventLoopGroup: eventLoopGroup, clock: { Date() })
    }

    init(configuration: S3Configuration, credentials: AWSCredentials, eventLoopGroup: any EventLoopGroup,
         clock: @escaping @Sendable () -> Date) throws {
        self.configuration = configuration
        builder = S3RequestBuilder(configuration: configuration, credentials: credentials)
        self.clock = clock
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = configuration.caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw S3ConfigurationError("cannot read the CA file \(caFile)")
            }
            tls.trustRoots = .file(caFile)
        }
        var settings = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow,
                                                timeout: .init(connect: .init(configuration.connectTimeout)))
        settings.decompression = .disabled
        http = HTTPClient(eventLoopGroupProvider: .shared(eventLoopGroup), configuration: settings)
    }

    /// Runs `body` with a client for `configuration`, shut down after it however it ends.
    public static func with<T>(_ configuration: S3Configuration, _ body: (S3Client) async throws -> T) async throws -> T {
        let client = try S3Client(configuration: configuration)
        let result: T
        do {
            result = try await body(client)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        return result
    }

    public func shutdown() async throws {
        try await http.shutdown()
    }

    /// Sends one signed request and returns the response when its status is 2xx; any
    /// other status is read as S3's XML error and thrown.
    func send(_ method: HTTPMethod, key: String?, query: [QueryParameter] = [], headers: [HTTPField] = [],
              body: HTTPClientRequest.Body? = nil, payloadHash: String) async throws -> HTTPClientResponse {
        let prepared = builder.prepare(method: method.rawValue, key: key, query: query, headers: headers,
                                       payloadHash: payloadHash, date: clock())
        var request = HTTPClientRequest(url: prepared.url)
        request.method = method
        for field in prepared.headers { request.headers.add(name: field.name, value: field.value) }
        if let body { request.body = body }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .init(configuration.requestTimeout))
        } catch let error as S3IntegrityError {
            throw error
        } catch {
            throw transportError(error)
        }
        guard (200..<300).contains(response.status.code) else {
            let text = try await collect(response.body, upTo: 1 << 20)
            throw S3XML.serviceError(status: Int(response.status.code), body: text)
        }
        return response
    }

    /// A body read to its end (at most `limit` bytes); a broken-off body is a transport error.
    func collect(_ body: HTTPClientResponse.Body, upTo limit: Int) async throws -> [UInt8] {
        do {
            var buffer = try await body.collect(upTo: limit)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch let error as NIOTooManyBytesError {
            throw S3IntegrityError.malformedResponse("an answer longer than \(limit) bytes: \(error)")
        } catch {
            throw transportError(error)
        }
    }

    func transportError(_ error: any Error) -> S3TransportError {
        let endpoint = configuration.endpoint
        return S3TransportError(endpoint: endpoint.url,
                                reason: String(describing: error))
    }

    /// A request with a small XML body, which S3 wants with Content-MD5 (Object Lock calls).
    func sendXML(_ method: HTTPMethod, key: String, query: [QueryParameter], body: [UInt8],
                 headers: [HTTPField] = []) async throws -> HTTPClientResponse {
        let md5 = Data(Insecure.MD5.hash(data: body)).base64EncodedString()
        let fields = headers + [HTTPField("content-md5", md5), HTTPField("content-type", "application/xml")]
        return try await send(method, key: key, query: query, headers: fields, body: .bytes(ByteBuffer(bytes: body)),
                              payloadHash: PayloadHash.hex(of: body))
    }
}

/// The values of `x-amz-content-sha256`.
enum PayloadHash {
    /// SHA-256 of the empty body, for requests without one.
    static let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    static let unsigned = "UNSIGNED-PAYLOAD"

    static func hex(of bytes: [UInt8]) -> String {
        SignatureV4.hex(SHA256.hash(data: bytes))
    }
}
