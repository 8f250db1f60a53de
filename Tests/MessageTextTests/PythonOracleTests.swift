import Foundation
import MessageText
import TestSupport
import Testing

/// Python's email package (policy.default) as an independent reader of the same messages
/// (Oracle/extract.py): the subject and the attachment names must be equal, and every
/// search token of the text Python reads must be among ours: a word Python finds that we
/// miss is a message search would not find. Extra tokens are fine.
@Suite struct PythonOracleTests {
    struct Extracted: Decodable {
        var file: String
        var subject: String
        var from: [String]
        var to: [String]
        var cc: [String]
        var bcc: [String]
        var filenames: [String]
        var has_attachment: Bool
        var text: String
    }

    static let oracle = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Oracle").path

    /// Where Python and we legitimately differ, by file name and check, with the reason.
    static let exceptions: [String: String] = [
        "nice_unicode1 addresses": "Python's address parser leaves the encoded words of From and To as written (8-bit "
            + "text beside them, a RFC 2231 language tag); we decode them, so its tokens of the raw words are not ours",
    ]

    static func python(_ script: String, _ arguments: [String], in directory: String) async throws -> [UInt8] {
        let run = try await runProcess("/usr/bin/env", ["python3", oracle + "/" + script] + arguments, in: directory)
        try #require(run.status == 0, "\(script): \(run.stderr)")
        return run.stdout
    }

    static func normalized(_ s: String) -> String {
        s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    /// Compares our reading of each file with Python's; returns ours by file name.
    @discardableResult
    static func compare(files: [String], in directory: String) async throws -> [String: MessageText] {
        let json = try await python("extract.py", files, in: directory)
        let theirs = try JSONDecoder().decode([Extracted].self, from: Data(json))
        #expect(theirs.count == files.count)
        let tokens = try SearchTokens()
        var ours: [String: MessageText] = [:]
        for python in theirs {
            let name = URL(fileURLWithPath: python.file).lastPathComponent
            let bytes = try #require(FileManager.default.contents(atPath: python.file).map { [UInt8]($0) })
            let text = MessageTextExtractor.extract(bytes)
            ours[name] = text
            if exceptions[name + " subject"] == nil {
                #expect(normalized(text.subject) == normalized(python.subject), "\(name): subject")
            }
            if exceptions[name + " filenames"] == nil {
                #expect(text.attachmentNames == python.filenames, "\(name): attachment names")
                #expect(text.hasAttachment == python.has_attachment, "\(name): has attachment")
            }
            if exceptions[name + " text"] == nil {
                let missing = try tokens.tokens(python.text).subtracting(tokens.tokens(text.body))
                #expect(missing.isEmpty, "\(name): tokens Python reads that we miss: \(missing.sorted().prefix(20))")
            }
            let header = (text.from + text.to + text.cc + text.bcc).joined(separator: "\n")
            let missingHeader = try tokens.tokens((python.from + python.to + python.cc + python.bcc).joined(separator: "\n"))
                .subtracting(tokens.tokens(header))
            if exceptions[name + " addresses"] == nil {
                #expect(missingHeader.isEmpty, "\(name): address tokens Python reads that we miss: \(missingHeader.sorted().prefix(20))")
            }
        }
        return ours
    }

    @Test func messagesWrittenByPython() async throws {
        let directory = try makeTempDirectory("oracle")
        defer { removeTempDirectory(directory) }
        let messages = directory + "/messages"
        _ = try await Self.python("make_messages.py", [messages], in: directory)
        let files = try FileManager.default.contentsOfDirectory(atPath: messages).filter { $0.hasSuffix(".eml") }.sorted()
        #expect(files.count >= 12)
        let ours = try await Self.compare(files: files.map { messages + "/" + $0 }, in: directory)

        // The words the script planted are found where it says (and the hidden ones are not).
        let planted = try JSONDecoder().decode([String: [String: [String]]].self,
                                               from: Data(contentsOf: URL(fileURLWithPath: messages + "/words.json")))
        let tokens = try SearchTokens()
        for (file, fields) in planted {
            let text = try #require(ours[file], "\(file)")
            for (field, words) in fields {
                let source: String
                switch field {
                case "subject": source = text.subject
                case "from": source = text.from.joined(separator: " ")
                case "cc": source = text.cc.joined(separator: " ")
                case "bcc": source = text.bcc.joined(separator: " ")
                case "filename": source = text.attachmentNames.joined(separator: " ")
                default: source = text.body
                }
                let found = try tokens.tokens(source)
                for word in words {
                    let wordTokens = try tokens.tokens(word)
                    if field == "absent" {
                        #expect(wordTokens.isDisjoint(with: found), "\(file): \(word) should not be in the body")
                    } else {
                        #expect(wordTokens.isSubset(of: found), "\(file): \(word) missing from \(field)")
                    }
                }
            }
        }
        for file in files {
            let bytes = try #require(FileManager.default.contents(atPath: messages + "/" + file).map { [UInt8]($0) })
            ChunkingTests.checkSplits(bytes, seed: UInt64(file.count))
        }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: ChunkingTests.corpusDirectory)))
    func corpusMessages() async throws {
        let directory = try makeTempDirectory("oracle")
        defer { removeTempDirectory(directory) }
        let names = try FileManager.default.contentsOfDirectory(atPath: ChunkingTests.corpusDirectory).filter { !$0.hasPrefix("LICENSE") }
        #expect(names.count > 100)
        try await Self.compare(files: names.sorted().map { ChunkingTests.corpusDirectory + "/" + $0 }, in: directory)
    }
}
