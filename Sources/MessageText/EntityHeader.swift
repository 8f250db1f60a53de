import Foundation

extension MessageTextExtractor {
    /// A header section is complete: record what it says (the message's own fields, a
    /// nested message's fields into the body, an attachment's name and type) and choose
    /// how its body is read.
    mutating func endHeader(_ collector: HeaderCollector) {
        let fields = HeaderSection.fields(collector.bytes)
        let contentType = fields.first("content-type").map(MIMEParameters.init)
        var mediaType = collector.defaultType
        if let declared = contentType?.value, declared.contains("/") {
            mediaType = declared
        } else if contentType != nil {
            mediaType = "text/plain"  // RFC 2045 section 5.2: an invalid Content-Type
        }
        let disposition = fields.first("content-disposition").map(MIMEParameters.init)
        let transferEncoding = fields.first("content-transfer-encoding").map { String(decoding: $0, as: UTF8.self) }
        let headerCharset = contentType?.parameters["charset"]
        switch collector.role {
        case .top: recordTopFields(fields, charset: headerCharset)
        case .nestedMessage: appendBody(nestedMessageFields(fields, charset: headerCharset))
        case .part: break
        }
        if !mediaType.hasPrefix("multipart/") { recordAttachment(mediaType: mediaType, contentType: contentType, disposition: disposition) }

        if mediaType.hasPrefix("multipart/"), let boundary = contentType?.parameters["boundary"], !boundary.isEmpty,
           boundary.utf8.count + 8 <= MessageTextLimits.boundaryLineBytes {
            guard collector.depth < limits.maxDepth else { result.truncated = true; entity = .skip; return }
            frames.append(MultipartFrame(boundary: Array(boundary.utf8), childDepth: collector.depth + 1,
                                         childDefaultType: mediaType == "multipart/digest" ? "message/rfc822" : "text/plain"))
            entity = .skip  // the preamble
        } else if mediaType == "message/rfc822" || mediaType == "message/global" {
            guard collector.depth < limits.maxDepth else { result.truncated = true; entity = .skip; return }
            entities += 1
            guard entities <= limits.maxParts else { result.truncated = true; entity = .skip; return }
            entity = .header(HeaderCollector(depth: collector.depth + 1, role: .nestedMessage, defaultType: "text/plain"))
        } else if mediaType.hasPrefix("text/") || mediaType.hasPrefix("multipart/") {
            // A multipart without a usable boundary is read as text, as Python's email does.
            entity = .text(TextPart(transferEncoding: transferEncoding, charset: contentType?.parameters["charset"],
                                    isHTML: mediaType == "text/html", room: textRoom))
        } else {
            entity = .skip
        }
    }

    private mutating func recordTopFields(_ fields: [HeaderField], charset: String?) {
        let decode = { EncodedWords.decode($0, fallback: charset) }
        result.from = (fields.values("from") + fields.values("sender")).map(decode)
        result.to = fields.values("to").map(decode)
        result.cc = fields.values("cc").map(decode)
        result.bcc = fields.values("bcc").map(decode)
        result.subject = fields.first("subject").map(decode) ?? ""
        if let raw = fields.first("message-id") {
            var id = Substring(EncodedWords.rawText(raw))
            if let open = id.firstIndex(of: "<"), let close = id[open...].firstIndex(of: ">") { id = id[id.index(after: open)..<close] }
            let trimmed = id.trimmingCharacters(in: .whitespaces)
            result.messageID = trimmed.isEmpty ? nil : trimmed
        }
        result.date = fields.first("date").flatMap { MailDate.parse(EncodedWords.rawText($0)) }
    }

    /// A forwarded message's From, To, Cc and Subject, one per line, for the body.
    private func nestedMessageFields(_ fields: [HeaderField], charset: String?) -> String {
        (fields.values("from") + fields.values("to") + fields.values("cc") + fields.values("subject"))
            .map { EncodedWords.decode($0, fallback: charset) }.joined(separator: "\n")
    }

    private mutating func recordAttachment(mediaType: String, contentType: MIMEParameters?, disposition: MIMEParameters?) {
        let name = (disposition?.parameters["filename"] ?? contentType?.parameters["name"]).map { EncodedWords.decode(Array($0.utf8)) }
        let named = !(name ?? "").isEmpty
        if let name, named { result.attachmentNames.append(name) }
        if named || disposition?.value == "attachment" {
            result.hasAttachment = true
            result.attachmentTypes.append(mediaType)
        }
    }
}
