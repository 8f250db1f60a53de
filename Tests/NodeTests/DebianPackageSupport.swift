import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The Debian package of this build's debug binary, made by scripts/build-deb (the script
/// `make deb` runs on the release binary) once per test run and shared by the tests that
/// read it; each test installs it into a root of its own.
actor DebianPackageBuild {
    static let shared = DebianPackageBuild()
    /// Removed when the test process exits (`atexit`): every test of the run may read it.
    static let directory = FileManager.default.temporaryDirectory.appendingPathComponent("archiverelay-deb-\(getpid())").path

    static let dpkg = "/usr/bin/dpkg", dpkgDeb = "/usr/bin/dpkg-deb", lintian = "/usr/bin/lintian"
    static let systemdAnalyze = "/usr/bin/systemd-analyze", sysusers = "/usr/bin/systemd-sysusers"
    static let buildScript = NodeTestSupport.packageRoot.appendingPathComponent("scripts/build-deb").path

    private var build: Task<String, Error>?

    /// The .deb's path, built on first use.
    func package() async throws -> String {
        if let build { return try await build.value }
        let task = Task { try await Self.make() }
        build = task
        return try await task.value
    }

    /// Fails (under CI too) when a tool the packaging needs is missing.
    static func requireTools(_ tools: [String] = [dpkg, dpkgDeb, "/usr/bin/dpkg-shlibdeps", "/usr/bin/dpkg-gencontrol", sysusers]) throws {
        for tool in tools {
            try #require(FileManager.default.isExecutableFile(atPath: tool), "\(tool) is needed (make deps-test)")
        }
    }

    private static func make() async throws -> String {
        try requireTools()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: DebianPackageBuild.directory) }
        // The debug binary links the toolchain's Swift runtime; xz of it would take minutes.
        let run = try await runProcess("/bin/bash", [buildScript, "--allow-toolchain-runtime", try NodeTestSupport.binary(), directory + "/out"],
                                       in: directory, environment: ["DEB_COMPRESSION": "gzip", "DEB_COMPRESSION_LEVEL": "1"])
        let deb = String(decoding: run.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard run.status == 0, deb.hasSuffix(".deb") else {
            throw NodeTestError("scripts/build-deb exited \(run.status): \(deb)\n\(run.stderr)")
        }
        return deb
    }
}

/// A throwaway root that dpkg installs into without touching the host: `dpkg --root`
/// with `--force-script-chrootless`, so the maintainer scripts run the host's
/// systemd-sysusers and systemd-tmpfiles with `--root=$DPKG_ROOT`. The root holds no
/// libc or systemd, hence `--force-depends`.
struct DebianRoot {
    let path: String

    init(in directory: String) throws {
        path = directory + "/root"
        for folder in ["var/lib/dpkg/info", "var/lib/dpkg/updates", "etc"] {
            try FileManager.default.createDirectory(atPath: path + "/" + folder, withIntermediateDirectories: true)
        }
        _ = FileManager.default.createFile(atPath: path + "/var/lib/dpkg/status", contents: Data())
    }

    /// `dpkg ACTION...` on this root; throws with dpkg's output when it fails.
    @discardableResult
    func dpkg(_ arguments: [String]) async throws -> ProcessRun {
        let run = try await runProcess(DebianPackageBuild.dpkg, ["--root=\(path)", "--force-script-chrootless", "--force-depends",
                                                                 "--force-confold", "--log=/dev/null"] + arguments, in: path)
        guard run.status == 0 else {
            throw NodeTestError("dpkg \(arguments) exited \(run.status): \(String(decoding: run.stdout, as: UTF8.self))\n\(run.stderr)")
        }
        return run
    }

    func exists(_ file: String) -> Bool { FileManager.default.fileExists(atPath: path + file) }

    func read(_ file: String) throws -> String { try String(contentsOfFile: path + file, encoding: .utf8) }

    /// Permission bits, owner and group of a file in the root.
    struct Ownership: Equatable, CustomStringConvertible {
        let mode: Int, uid: Int, gid: Int
        var description: String { "\(String(mode, radix: 8)) \(uid):\(gid)" }
    }

    func ownership(_ file: String) throws -> Ownership {
        let attributes = try FileManager.default.attributesOfItem(atPath: path + file)
        return Ownership(mode: (attributes[.posixPermissions] as? Int) ?? -1, uid: (attributes[.ownerAccountID] as? Int) ?? -1,
                         gid: (attributes[.groupOwnerAccountID] as? Int) ?? -1)
    }

    /// The lines of the root's /etc/passwd for `user`.
    func passwdEntries(_ user: String) throws -> [[Substring]] {
        try read("/etc/passwd").split(separator: "\n").map { $0.split(separator: ":", omittingEmptySubsequences: false) }
            .filter { $0.first.map(String.init) == user }
    }
}
