import AsyncHTTPClient
import Foundation
import NIOCore

extension S3Client {
    /// PutObjectRetention. Extending a retention is always allowed; shortening one needs
    /// governance mode and `bypassGovernance`, and compliance never allows it.
    public func putObjectRetention(key: String, _ retention: ObjectRetention, versionID: String? = nil,
                                   bypassGovernance: Bool = false) async throws {
        let headers = bypassGovernance ? [HTTPField("x-amz-bypass-governance-retention", "true")] : []
        _ = try await sendXML(.PUT, key: key, query: Self.version(versionID, [QueryParameter("retention")]),
                              body: S3XML.retentionBody(retention), headers: headers)
    }

    /// GetObjectRetention; an object without one throws `S3ServiceError`
    /// (`NoSuchObjectLockConfiguration`).
    public func getObjectRetention(key: String, versionID: String? = nil) async throws -> ObjectRetention {
        let response = try await send(.GET, key: key, query: Self.version(versionID, [QueryParameter("retention")]),
                                      payloadHash: PayloadHash.empty)
        return try S3XML.retention(await collect(response.body, upTo: 64 << 10))
    }

    /// PutObjectLegalHold: on while any hold covers a message of the object.
    public func putObjectLegalHold(key: String, on: Bool, versionID: String? = nil) async throws {
        _ = try await sendXML(.PUT, key: key, query: Self.version(versionID, [QueryParameter("legal-hold")]),
                              body: S3XML.legalHoldBody(on))
    }

    public func getObjectLegalHold(key: String, versionID: String? = nil) async throws -> Bool {
        let response = try await send(.GET, key: key, query: Self.version(versionID, [QueryParameter("legal-hold")]),
                                      payloadHash: PayloadHash.empty)
        return try S3XML.legalHold(await collect(response.body, upTo: 64 << 10))
    }

    /// One page of ListObjectsV2 under `prefix`, at most `maxKeys` keys (S3 caps it at
    /// 1,000); pass the page's `continuationToken` for the next.
    public func listObjects(prefix: String = "", maxKeys: Int = 1000, continuationToken: String? = nil) async throws -> ObjectListPage {
        var query = [QueryParameter("list-type", "2"), QueryParameter("max-keys", String(max(1, min(maxKeys, 1000))))]
        if !prefix.isEmpty { query.append(QueryParameter("prefix", prefix)) }
        if let continuationToken { query.append(QueryParameter("continuation-token", continuationToken)) }
        let response = try await send(.GET, key: nil, query: query, payloadHash: PayloadHash.empty)
        return try S3XML.listPage(await collect(response.body, upTo: 16 << 20))
    }

    /// Every key under `prefix`, page after page.
    public func listAllObjects(prefix: String = "", pageSize: Int = 1000) async throws -> [ListedObject] {
        var objects: [ListedObject] = []
        var token: String?
        repeat {
            let page = try await listObjects(prefix: prefix, maxKeys: pageSize, continuationToken: token)
            objects += page.objects
            token = page.continuationToken
        } while token != nil
        return objects
    }
}
