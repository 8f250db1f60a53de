import Foundation

/// The bytes of the file at `path`; empty when it cannot be read.
public func readFile(_ path: String) -> [UInt8] {
    FileManager.default.contents(atPath: path).map { [UInt8]($0) } ?? []
}

/// Writes `bytes` as the whole file at `path`.
public func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Where two byte strings first differ, with a little context; nil when they are equal.
public func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> String? {
    guard a != b else { return nil }
    let index = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
    func show(_ x: [UInt8]) -> String { String(decoding: x[index..<min(x.count, index + 40)], as: UTF8.self).debugDescription }
    return "lengths \(a.count) and \(b.count), first difference at \(index): \(show(a)) vs \(show(b))"
}
