import Foundation

/// A request ready for the wire: its URL (path and query encoded as signed), its header
/// fields with `host`, `x-amz-content-sha256`, `x-amz-date` and `Authorization`, and the
/// signature's workings.
struct PreparedRequest: Equatable {
    var url: String
    var headers: [HTTPField]
    var signed: SignedFields
}

/// Turns an operation on a key of the bucket into a signed request: the addressing style
/// picks host and path, one encoding serves the URL and the canonical request.
struct S3RequestBuilder: Sendable {
    let configuration: S3Configuration
    let credentials: AWSCredentials
    let signer: SignatureV4

    init(configuration: S3Configuration, credentials: AWSCredentials) {
        self.configuration = configuration
        self.credentials = credentials
        signer = SignatureV4(region: configuration.region)
    }

    /// `key` nil addresses the bucket itself (a listing).
    func prepare(method: String, key: String?, query: [QueryParameter], headers: [HTTPField],
                 payloadHash: String, date: Date) -> PreparedRequest {
        let location = configuration.location(of: key)
        let authority = configuration.endpoint.authority(host: location.host)
        let fields = headers + [HTTPField("host", authority), HTTPField("x-amz-content-sha256", payloadHash)]
        let signable = SignableRequest(method: method, path: location.path, query: query, headers: fields)
        let signed = signer.sign(signable, payloadHash: payloadHash, credentials: credentials, date: date)
        let queryText = URIEncoding.canonicalQuery(query)
        let scheme = configuration.endpoint.useTLS ? "https" : "http"
        let url = "\(scheme)://\(authority)\(URIEncoding.path(location.path))" + (queryText.isEmpty ? "" : "?\(queryText)")
        return PreparedRequest(url: url, headers: fields + signed.added, signed: signed)
    }
}
