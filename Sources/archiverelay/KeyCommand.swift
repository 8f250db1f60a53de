import ArchiveStore
import ArgumentParser
import Foundation
import RelayConfiguration

/// `archiverelay key create [--id N]`: a fresh archive encryption key, printed as the
/// `[[key]]` entry to add to the key file (docs/CONFIG.md, "The encryption key file").
/// Nothing else keeps it: lose the file and the segments it encrypted are lost.
struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Make archive encryption keys.",
        subcommands: [Create.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a new random AES-256 key as a [[key]] entry for the file [archive] encryption_keys_file names.",
            discussion: "Add it to the key file (chmod 600), keep the older keys there while segments name them, back the file up "
                + "apart from the data, then reload the node (SIGHUP): the next segment is encrypted with the highest id."
        )
        @Option(help: "The key's id, 1 to 4294967295 (default: the current Unix time, so a newer key has a higher id).")
        var id: UInt32?

        func validate() throws {
            if id == 0 { throw ValidationError("--id must be 1 or more") }
        }

        func run() throws {
            let id = self.id ?? UInt32(clamping: Int(Date().timeIntervalSince1970))
            writeStdout("[[key]]\nid = \(id)\nsecret = \"\(Data(SegmentKey.newSecret()).base64EncodedString())\"\n")
        }
    }
}
