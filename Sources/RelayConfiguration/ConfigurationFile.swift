import Foundation
import TOMLKit

/// Reading a configuration file into `NodeConfiguration`, with decoder failures and
/// unknown keys turned into located messages.
enum ConfigurationFile {
    /// The decoded file, or why it could not be decoded; plus one error per unknown key.
    static func decode(_ text: String) -> (NodeConfiguration?, ConfigurationProblems) {
        var problems = ConfigurationProblems()
        let table: TOMLTable
        do {
            table = try parse(text)
        } catch let error as TOMLParseError {
            problems.error("line \(error.source.begin.line), column \(error.source.begin.column)", "not valid TOML: \(error.description)")
            return (nil, problems)
        } catch let finding as TOMLTextGuard.Finding {
            let (line, column) = TOMLTextGuard.position(of: finding.offset, in: text)
            problems.error("line \(line), column \(column)", "not valid TOML: \(finding.problem)")
            return (nil, problems)
        } catch {
            problems.error("file", "not valid TOML: \(error)")
            return (nil, problems)
        }
        let configuration: NodeConfiguration
        do {
            configuration = try TOMLDecoder().decode(NodeConfiguration.self, from: table)
        } catch {
            problems.error(describe(error))
            return (nil, problems)
        }
        // A second, strict pass only to name keys the configuration does not know (typos
        // would otherwise silently take the default).
        do {
            _ = try TOMLDecoder(strictDecoding: true).decode(NodeConfiguration.self, from: table)
        } catch let error as UnexpectedKeysError {
            for (key, path) in error.keys.sorted(by: { location($0.value) < location($1.value) }) {
                let at = location(Array(path.dropLast()))
                problems.error(at.isEmpty ? "top level" : at, "unknown key \"\(key)\"")
            }
        } catch {
            problems.error(describe(error))
        }
        return (configuration, problems)
    }

    /// A small TOML file the configuration names (the admin tokens, the encryption keys)
    /// decoded as `T`, or nil with its problem recorded at `at`; `shape` says what its
    /// entries need. Without `quotingParser` a syntax error gives line and column only: the
    /// parser's text may quote the line, and in a key file the line holds a secret.
    static func decodeNamedFile<T: Decodable>(_ type: T.Type, text: String, at: String, shape: String, quotingParser: Bool,
                                              problems: inout ConfigurationProblems) -> T? {
        do {
            return try TOMLDecoder().decode(T.self, from: try parse(text))
        } catch let finding as TOMLTextGuard.Finding {
            let (line, column) = TOMLTextGuard.position(of: finding.offset, in: text)
            problems.error(at, "line \(line), column \(column): not valid TOML: \(finding.problem)")
        } catch let error as TOMLParseError {
            let place = "line \(error.source.begin.line), column \(error.source.begin.column): not valid TOML"
            problems.error(at, quotingParser ? "\(place): \(error.description)" : place)
        } catch {
            let (place, why) = describe(error)
            problems.error(at, "\(place): \(why) (\(shape))")
        }
        return nil
    }

    /// The text as a TOML table. What TOMLKit must not be given (`TOMLTextGuard`) is thrown
    /// as a finding, unless the text before it fails first, as the whole text would.
    static func parse(_ text: String) throws -> TOMLTable {
        guard let finding = TOMLTextGuard.firstFinding(text) else { return try TOMLTable(string: text) }
        _ = try TOMLTable(string: String(decoding: text.utf8.prefix(finding.cleanEnd), as: UTF8.self))
        throw finding
    }

    /// `route[2].forward` for a decoder's coding path (arrays counted from 1).
    static func location(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue {
                text += "[\(index + 1)]"
            } else {
                text += (text.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return text
    }

    /// A decoder's type in TOML's words.
    static func kind(_ type: Any.Type) -> String {
        switch String(describing: type) {
        case "TOMLArray": return "an array"
        case "TOMLTable": return "a table"
        case "String": return "a string"
        case "Int", "UInt64": return "an integer"
        case "Bool": return "true or false"
        case let other: return "a value of type \(other)"
        }
    }

    static func describe(_ error: any Error) -> (String, String) {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            let at = location(context.codingPath.last?.stringValue == key.stringValue ? context.codingPath : context.codingPath + [key])
            return (at, "missing, or not of the expected type")
        case DecodingError.typeMismatch(let type, let context):
            return (location(context.codingPath), "expected \(kind(type))")
        case DecodingError.valueNotFound(_, let context), DecodingError.dataCorrupted(let context):
            return (location(context.codingPath), context.debugDescription)
        default:
            return ("file", "\(error)")
        }
    }
}

extension ConfigurationProblems {
    mutating func error(_ located: (String, String)) { error(located.0.isEmpty ? "top level" : located.0, located.1) }
}
