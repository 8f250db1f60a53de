import Foundation
import NIOCore
import Testing
import TestSupport
@testable import ObjectStorage

/// What the client reads without a server: S3's XML, the configuration, credentials.
@Suite struct S3ParsingTests {
    @Test func serviceErrorNamesS3sCode() {
        let body = Array("""
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>\
            <Key>a</Key><RequestId>4442587FB7D0A2F9</RequestId></Error>
            """.utf8)
        let error = S3XML.serviceError(status: 404, body: body)
        #expect(error == S3ServiceError(code: "NoSuchKey", message: "The specified key does not exist.", status: 404, requestID: "4442587FB7D0A2F9"))
        #expect(error.description == "S3 refused the request: NoSuchKey (HTTP 404): The specified key does not exist.")
    }

    @Test(arguments: ["", "<html><body>Bad gateway</body></html>", "<Error><Message>no code</Message></Error>", "<Error><Code>"])
    func anAnswerThatIsNoS3ErrorGivesTheStatusCode(_ body: String) {
        let error = S3XML.serviceError(status: 403, body: Array(body.utf8))
        #expect(error.code == "Forbidden")
        #expect(error.status == 403)
    }

    @Test func listPageWithContinuation() throws {
        let page = try S3XML.listPage(Array("""
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><KeyCount>2</KeyCount>\
            <IsTruncated>true</IsTruncated><NextContinuationToken>tok/+=</NextContinuationToken>\
            <Contents><Key>a &amp; b</Key><Size>10</Size><ETag>"e1"</ETag></Contents>\
            <Contents><Key>c</Key><Size>0</Size></Contents></ListBucketResult>
            """.utf8))
        #expect(page.objects == [ListedObject(key: "a & b", size: 10, eTag: "\"e1\"", lastModified: nil),
                                 ListedObject(key: "c", size: 0, eTag: nil, lastModified: nil)])
        #expect(page.continuationToken == "tok/+=")
        #expect(throws: S3IntegrityError.self) {
            try S3XML.listPage(Array("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>".utf8))
        }
        #expect(throws: S3IntegrityError.self) { try S3XML.listPage(Array("<ListBucketResult><Contents><Key>k</Key></Contents>".utf8)) }
    }

    @Test func retentionAndLegalHoldBodiesRoundTrip() throws {
        let retention = ObjectRetention(mode: .governance, retainUntil: Date(timeIntervalSince1970: 2_000_000_000))
        #expect(try S3XML.retention(S3XML.retentionBody(retention)) == retention)
        #expect(try S3XML.retention(Array("<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2033-05-18T03:33:20.000Z</RetainUntilDate></Retention>".utf8))
            == ObjectRetention(mode: .compliance, retainUntil: retention.retainUntil))
        #expect(throws: S3IntegrityError.self) { try S3XML.retention(Array("<Retention><Mode>LOCKED</Mode></Retention>".utf8)) }
        #expect(try S3XML.legalHold(S3XML.legalHoldBody(true)))
        #expect(try !S3XML.legalHold(S3XML.legalHoldBody(false)))
    }

    @Test func endpointsAndAddressing() throws {
        let local = try S3Endpoint("http://127.0.0.1:9000")
        #expect(local.authority(host: local.host) == "127.0.0.1:9000")
        let aws = try S3Endpoint("https://s3.eu-central-1.amazonaws.com/")
        #expect(aws.port == 443 && aws.useTLS)
        #expect(aws.authority(host: "b.s3.eu-central-1.amazonaws.com") == "b.s3.eu-central-1.amazonaws.com")
        for bad in ["s3.amazonaws.com", "ftp://host", "https://host/bucket", "https://user@host", "http://"] {
            #expect(throws: S3ConfigurationError.self, "\(bad)") { try S3Endpoint(bad) }
        }
        var configuration = S3Configuration(endpoint: aws, region: "eu-central-1", bucket: "archive")
        #expect(configuration.location(of: "seg/1") == S3Location(host: "s3.eu-central-1.amazonaws.com", path: "/archive/seg/1"))
        #expect(configuration.location(of: nil) == S3Location(host: "s3.eu-central-1.amazonaws.com", path: "/archive"))
        configuration.addressing = .virtualHost
        #expect(configuration.location(of: "seg/1") == S3Location(host: "archive.s3.eu-central-1.amazonaws.com", path: "/seg/1"))
        #expect(configuration.location(of: nil) == S3Location(host: "archive.s3.eu-central-1.amazonaws.com", path: "/"))
    }

    @Test func credentialsFromTheEnvironmentAndFromAFile() throws {
        let environment = ["AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token"]
        #expect(try S3CredentialSource.environment.resolve(environment: environment)
            == AWSCredentials(accessKeyID: "AKID", secretAccessKey: "secret", sessionToken: "token"))
        #expect(throws: S3ConfigurationError.self) { try S3CredentialSource.environment.resolve(environment: ["AWS_ACCESS_KEY_ID": "AKID"]) }
        let directory = try makeTempDirectory("credentials")
        defer { removeTempDirectory(directory) }
        try writeFile(directory + "/credentials", Array("""
            [default]
            aws_access_key_id = DEFAULTKEY
            aws_secret_access_key = defaultsecret
            # a comment
            [archive]
            aws_access_key_id=ARCHIVEKEY
            aws_secret_access_key = archive/secret+=
            aws_session_token = tok
            """.utf8))
        #expect(try S3CredentialSource.file(path: directory + "/credentials", profile: "archive").resolve()
            == AWSCredentials(accessKeyID: "ARCHIVEKEY", secretAccessKey: "archive/secret+=", sessionToken: "tok"))
        #expect(try S3CredentialSource.file(path: directory + "/credentials", profile: "default").resolve()
            == AWSCredentials(accessKeyID: "DEFAULTKEY", secretAccessKey: "defaultsecret"))
        #expect(throws: S3ConfigurationError.self) { try S3CredentialSource.file(path: directory + "/credentials", profile: "other").resolve() }
        #expect(throws: S3ConfigurationError.self) { try S3CredentialSource.file(path: directory + "/missing", profile: "default").resolve() }
    }

    @Test func byteRanges() {
        #expect(ByteRange(first: 5, last: 4) == nil)
        #expect(ByteRange(first: -1, last: 4) == nil)
        #expect(ByteRange(offset: 10, count: 0) == nil)
        #expect(ByteRange(offset: Int64.max, count: 2) == nil)
        #expect(ByteRange(offset: 10, count: 5)?.header == "bytes=10-14")
    }

    /// The last chunk is held back until the whole body is checked: a body that does not
    /// hash to the expected value throws before its last chunk is handed to the HTTP client.
    @Test func checkedChunksWithholdTheLastChunkOfAChangedBody() async throws {
        let chunks = [ByteBuffer(string: "abc"), ByteBuffer(string: "def")]
        let right = Data(SHA256Digest.of("abcdef")).base64EncodedString()
        var delivered: [String] = []
        for try await chunk in CheckedChunks(base: AsyncChunks(chunks), path: "p", expectedSHA256: right) {
            delivered.append(String(buffer: chunk))
        }
        #expect(delivered == ["abc", "def"])
        delivered = []
        let wrong = Data(SHA256Digest.of("abcdeX")).base64EncodedString()
        await #expect(throws: S3IntegrityError.self) {
            for try await chunk in CheckedChunks(base: AsyncChunks(chunks), path: "p", expectedSHA256: wrong) {
                delivered.append(String(buffer: chunk))
            }
        }
        #expect(delivered == ["abc"])
        await #expect(throws: S3IntegrityError.self) {
            for try await _ in CheckedChunks(base: AsyncChunks([]), path: "p", expectedSHA256: wrong) {}
        }
    }
}

/// Fixed chunks as an async sequence.
struct AsyncChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let chunks: [ByteBuffer]
    init(_ chunks: [ByteBuffer]) { self.chunks = chunks }

    struct AsyncIterator: AsyncIteratorProtocol {
        var rest: ArraySlice<ByteBuffer>
        mutating func next() async -> ByteBuffer? { rest.popFirst() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(rest: chunks[...]) }
}

import Crypto

enum SHA256Digest {
    static func of(_ text: String) -> [UInt8] { Array(SHA256.hash(data: Array(text.utf8))) }
}
