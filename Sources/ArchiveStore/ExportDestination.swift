import DurableFiles
import Foundation

/// Why `archive export` would not write where it was asked to.
public enum ExportRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    /// The output would be inside the data directory, where it could replace archive files.
    case insideDataDirectory(path: String, dataDirectory: String)
    /// Something (a file, a directory, a symlink) is there and overwriting was not asked for.
    case exists(path: String)

    public var description: String {
        switch self {
        case .insideDataDirectory(let path, let dataDirectory): "\(path) is inside the data directory \(dataDirectory)"
        case .exists(let path): "\(path) exists"
        }
    }
}

/// Where an export may write, and how it creates its files.
enum ExportDestination {
    /// Throws `insideDataDirectory` when `path`, its symlinks resolved, is the data
    /// directory or below it.
    static func refuseInside(dataDirectory: String, _ path: String) throws {
        guard let data = realPath(dataDirectory) else { return }  // no data directory: nothing to protect
        let target = resolved(path)
        if target == data || target.hasPrefix(data.hasSuffix("/") ? data : data + "/") {
            throw ExportRefusal.insideDataDirectory(path: path, dataDirectory: dataDirectory)
        }
    }

    /// Whether anything is at `path`, a dangling symlink included.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// A new file at `path` filled by `body` and synced. Without `overwrite` it is created
    /// exclusively (O_EXCL: an existing file or link is refused, never opened); with it, a
    /// temp file is renamed over whatever is there, which replaces a symlink instead of
    /// writing through it. A failed export removes what it created.
    static func write(to path: String, overwrite: Bool, _ body: (SystemFile) throws -> Void) throws {
        if overwrite { return try Durable.writeAtomically(to: path, faults: nil, body) }
        let file: SystemFile
        do {
            file = try SystemFile.open(path, flags: O_WRONLY | O_CREAT | O_EXCL)
        } catch where error.errno == EEXIST {
            throw ExportRefusal.exists(path: path)
        }
        do {
            try body(file)
            try file.sync()
            file.close()
            try Durable.syncParentDirectory(of: path, faults: nil)
        } catch {
            file.close()
            try? Durable.unlinkIfPresent(path, faults: nil)
            throw error
        }
    }

    /// `path` made absolute, with the symlinks of the part that exists resolved and the
    /// part that does not yet exist appended with its `.` and `..` applied.
    static func resolved(_ path: String) -> String {
        var existing = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var missing: [String] = []
        while existing != "/", realPath(existing) == nil {
            missing.insert((existing as NSString).lastPathComponent, at: 0)
            existing = (existing as NSString).deletingLastPathComponent
        }
        var parts = (realPath(existing) ?? "/").split(separator: "/").map(String.init)
        for part in missing {
            switch part {
            case "", ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
