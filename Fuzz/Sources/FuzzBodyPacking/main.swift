import ArchiveStore
import Foundation

/// Any bytes as a message, through the archive's whole write and read path: fed to a
/// `MessageDraft` in slices (the first byte picks the slice size), which packs base64
/// lines and compresses; the record it makes must decode and unpack to exactly the input.
/// The seeds are MIME messages with base64 parts, so mutations hit the packer's edges
/// (padding, line widths, CR without LF, lines split across slices).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    guard let first = input.first else { return 0 }
    let slice = 1 + Int(first) * 37
    let message = Array(input.dropFirst())
    let envelope = ArchiveEnvelope(receivedAt: Date(timeIntervalSince1970: 0), listener: "fuzz", clientAddress: "127.0.0.1",
                                   helo: "fuzz", tls: nil, sender: "", recipients: ["r@example.test"], traceHeaders: "")
    do {
        var draft = try MessageDraft(envelope: envelope)
        var offset = 0
        while offset < message.count {
            try draft.append(bytes: message[offset..<min(message.count, offset + slice)])
            offset += slice
        }
        let finished = try draft.finish()
        let record = try RecordCodec.decodeStandalone(finished.standaloneRecordBytes[...])
        guard try record.original() == message else { fatalError("packed body did not unpack to the original") }
    } catch {
        fatalError("valid message failed: \(error)")
    }
    return 0
}
