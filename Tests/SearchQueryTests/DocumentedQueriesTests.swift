import Foundation
import Testing
import SearchQuery

/// docs/OPERATIONS.md's "Searching the archive": every example query parses, and every
/// refusal shown is the one the parser gives.
@Suite struct DocumentedQueriesTests {
    static func section() throws -> [Substring] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/OPERATIONS.md"), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex(of: "## Searching the archive"))
        let end = lines[(start + 1)...].firstIndex { $0.hasPrefix("## ") } ?? lines.endIndex
        return Array(lines[start..<end])
    }

    @Test func examplesParse() throws {
        let examples = try Self.section().filter { $0.hasPrefix("    archive search '") }
        #expect(examples.count >= 5)
        for line in examples {
            let query = line.dropFirst("    archive search '".count).dropLast()
            #expect(throws: Never.self, "\(query)") { try SearchQuery.parse(String(query)) }
        }
    }

    @Test func refusalsAreTheParsers() throws {
        let refusals = try Self.section().filter { $0.hasPrefix("    ") && $0.contains("  column ") }
        #expect(refusals.count >= 4)
        for line in refusals {
            let split = try #require(line.range(of: "  column "))
            let query = line[..<split.lowerBound].trimmingCharacters(in: .whitespaces)
            let shown = line[split.upperBound...].trimmingCharacters(in: .whitespaces)
            do {
                _ = try SearchQuery.parse(query)
                Issue.record("\(query) parsed")
            } catch {
                #expect("column " + shown == error.description)
            }
        }
    }
}
