import Foundation
import Testing
@testable import ObjectStorage

/// The four examples of the S3 API Reference, "Signature Calculations for the
/// Authorization Header: Transferring Payload in a Single Chunk (AWS Signature Version 4)"
/// (sig-v4-header-based-auth): key AKIAIOSFODNN7EXAMPLE, 2013-05-24T00:00:00Z,
/// us-east-1, bucket examplebucket, virtual-host style. Transcribed: each request, its
/// canonical request, string to sign and signature.
@Suite struct S3DocumentationExampleTests {
    static let credentials = AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    static let date = Date(timeIntervalSince1970: 1_369_353_600)  // 20130524T000000Z
    static let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    static let host = HTTPField("Host", "examplebucket.s3.amazonaws.com")

    struct Example: CustomTestStringConvertible, Sendable {
        let name: String
        let request: SignableRequest
        let payloadHash: String
        let canonicalRequest: [String]
        let stringToSignHash: String
        let signature: String
        var testDescription: String { name }
    }

    static let examples: [Example] = [
        Example(name: "GET Object (Range)",
                request: SignableRequest(method: "GET", path: "/test.txt",
                                         headers: [host, HTTPField("Range", "bytes=0-9"), HTTPField("x-amz-content-sha256", empty)]),
                payloadHash: empty,
                canonicalRequest: ["GET", "/test.txt", "", "host:examplebucket.s3.amazonaws.com", "range:bytes=0-9",
                                   "x-amz-content-sha256:\(empty)", "x-amz-date:20130524T000000Z", "",
                                   "host;range;x-amz-content-sha256;x-amz-date", empty],
                stringToSignHash: "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
                signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
        Example(name: "PUT Object",
                request: SignableRequest(method: "PUT", path: "test$file.text", headers: [
                    host, HTTPField("Date", "Fri, 24 May 2013 00:00:00 GMT"), HTTPField("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                    HTTPField("x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"),
                ]),
                payloadHash: "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
                canonicalRequest: ["PUT", "/test%24file.text", "", "date:Fri, 24 May 2013 00:00:00 GMT", "host:examplebucket.s3.amazonaws.com",
                                   "x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
                                   "x-amz-date:20130524T000000Z", "x-amz-storage-class:REDUCED_REDUNDANCY", "",
                                   "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                                   "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"],
                stringToSignHash: "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
                signature: "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"),
        Example(name: "GET Bucket Lifecycle",
                request: SignableRequest(method: "GET", path: "/", query: [QueryParameter("lifecycle")],
                                         headers: [host, HTTPField("x-amz-content-sha256", empty)]),
                payloadHash: empty,
                canonicalRequest: ["GET", "/", "lifecycle=", "host:examplebucket.s3.amazonaws.com", "x-amz-content-sha256:\(empty)",
                                   "x-amz-date:20130524T000000Z", "", "host;x-amz-content-sha256;x-amz-date", empty],
                stringToSignHash: "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
                signature: "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
        Example(name: "Get Bucket (List Objects)",
                request: SignableRequest(method: "GET", path: "/", query: [QueryParameter("max-keys", "2"), QueryParameter("prefix", "J")],
                                         headers: [host, HTTPField("x-amz-content-sha256", empty)]),
                payloadHash: empty,
                canonicalRequest: ["GET", "/", "max-keys=2&prefix=J", "host:examplebucket.s3.amazonaws.com", "x-amz-content-sha256:\(empty)",
                                   "x-amz-date:20130524T000000Z", "", "host;x-amz-content-sha256;x-amz-date", empty],
                stringToSignHash: "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
                signature: "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
    ]

    @Test(arguments: examples)
    func example(_ example: Example) {
        let signed = SignatureV4(region: "us-east-1").sign(example.request, payloadHash: example.payloadHash,
                                                           credentials: Self.credentials, date: Self.date)
        #expect(signed.canonicalRequest == example.canonicalRequest.joined(separator: "\n"))
        #expect(signed.stringToSign == ["AWS4-HMAC-SHA256", "20130524T000000Z", "20130524/us-east-1/s3/aws4_request",
                                        example.stringToSignHash].joined(separator: "\n"))
        #expect(signed.signature == example.signature)
        #expect(signed.authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "))
    }
}
