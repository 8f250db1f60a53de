import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An element of an S3 XML answer: its name (namespace dropped), its text, its children.
/// S3's answers are small (an error, a page of 1,000 keys at most, a retention), so a
/// tree is simpler than a streaming reader.
struct XMLElementNode: Equatable {
    var name: String
    var text = ""
    var children: [XMLElementNode] = []

    func child(_ name: String) -> XMLElementNode? { children.first { $0.name == name } }
    func all(_ name: String) -> [XMLElementNode] { children.filter { $0.name == name } }
    func text(of name: String) -> String? { child(name)?.text }

    /// Parses `bytes`; nil when they are not well-formed XML.
    static func parse(_ bytes: [UInt8]) -> XMLElementNode? {
        let parser = XMLParser(data: Data(bytes))
        let builder = TreeBuilder()
        parser.delegate = builder
        parser.shouldProcessNamespaces = true
        parser.shouldResolveExternalEntities = false
        guard parser.parse() else { return nil }
        return builder.root
    }
}

private final class TreeBuilder: NSObject, XMLParserDelegate {
    var stack: [XMLElementNode] = []
    var root: XMLElementNode?

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        stack.append(XMLElementNode(name: elementName))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        guard let done = stack.popLast() else { return }
        if stack.isEmpty { root = done } else { stack[stack.count - 1].children.append(done) }
    }
}

/// The XML S3 answers and is sent: errors, listings, retention and legal hold.
enum S3XML {
    static let namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

    /// `<Error><Code>…</Code><Message>…</Message><RequestId>…</RequestId></Error>`; a body
    /// that is not one gives the status's code (a proxy's HTML page, an empty body).
    static func serviceError(status: Int, body: [UInt8]) -> S3ServiceError {
        guard let root = XMLElementNode.parse(body), root.name == "Error", let code = root.text(of: "Code"), !code.isEmpty else {
            return S3ServiceError.fromStatus(status)
        }
        return S3ServiceError(code: code, message: root.text(of: "Message") ?? "", status: status,
                              requestID: root.text(of: "RequestId"))
    }

    static func listPage(_ body: [UInt8]) throws(S3IntegrityError) -> ObjectListPage {
        guard let root = XMLElementNode.parse(body), root.name == "ListBucketResult" else {
            throw .malformedResponse("ListObjectsV2 answered no ListBucketResult")
        }
        var objects: [ListedObject] = []
        for entry in root.all("Contents") {
            guard let key = entry.text(of: "Key"), let size = entry.text(of: "Size").flatMap({ Int64($0) }) else {
                throw .malformedResponse("a listed object without Key or Size")
            }
            objects.append(ListedObject(key: key, size: size, eTag: entry.text(of: "ETag"), lastModified: entry.text(of: "LastModified")))
        }
        let truncated = root.text(of: "IsTruncated") == "true"
        let token = root.text(of: "NextContinuationToken").flatMap { $0.isEmpty ? nil : $0 }
        if truncated && token == nil { throw .malformedResponse("a truncated listing without NextContinuationToken") }
        return ObjectListPage(objects: objects, continuationToken: truncated ? token : nil)
    }

    static func retention(_ body: [UInt8]) throws(S3IntegrityError) -> ObjectRetention {
        guard let root = XMLElementNode.parse(body), root.name == "Retention",
              let mode = root.text(of: "Mode").flatMap(ObjectLockMode.init(rawValue:)),
              let until = root.text(of: "RetainUntilDate").flatMap(S3Timestamp.parse)
        else { throw .malformedResponse("GetObjectRetention answered no Retention with Mode and RetainUntilDate") }
        return ObjectRetention(mode: mode, retainUntil: until)
    }

    static func legalHold(_ body: [UInt8]) throws(S3IntegrityError) -> Bool {
        guard let root = XMLElementNode.parse(body), root.name == "LegalHold", let status = root.text(of: "Status") else {
            throw .malformedResponse("GetObjectLegalHold answered no LegalHold with Status")
        }
        return status == "ON"
    }

    static func retentionBody(_ retention: ObjectRetention) -> [UInt8] {
        Array(("<Retention xmlns=\"\(namespace)\"><Mode>\(retention.mode.rawValue)</Mode>"
            + "<RetainUntilDate>\(S3Timestamp.format(retention.retainUntil))</RetainUntilDate></Retention>").utf8)
    }

    static func legalHoldBody(_ on: Bool) -> [UInt8] {
        Array("<LegalHold xmlns=\"\(namespace)\"><Status>\(on ? "ON" : "OFF")</Status></LegalHold>".utf8)
    }
}
