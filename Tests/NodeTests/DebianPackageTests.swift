import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `make deb`'s package (issue 28): scripts/build-deb run on the debug binary, its control
/// fields and contents, installed, upgraded, removed and purged in a throwaway root, the
/// unit through `systemd-analyze verify`, lintian, the shipped node.toml through
/// check-config, and the node under the unit's MemoryDenyWriteExecute.
@Suite(.timeLimit(NodeTestSupport.scaledMinutes(10)))
struct DebianPackageTests {
    static let unit = "/usr/lib/systemd/system/archiverelay.service"
    static let config = "/etc/archiverelay/node.toml"
    static let dataDir = "/var/lib/archiverelay"

    static func version() async throws -> String {
        let run = try await runProcess(try NodeTestSupport.binary(), ["--version"], in: NSTemporaryDirectory())
        return String(decoding: run.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func controlFieldsAndContents() async throws {
        let deb = try await DebianPackageBuild.shared.package()
        let fields = try await runProcess(DebianPackageBuild.dpkgDeb, ["-f", deb], in: NSTemporaryDirectory())
        let control = String(decoding: fields.stdout, as: UTF8.self)
        #expect(control.contains("Package: archiverelay\n"))
        let version = try await Self.version()
        #expect(control.contains("Version: \(version)-1\n"), "\(control)")
        #expect(control.contains("Section: mail\n"))
        #expect(control.contains("Installed-Size: "))
        // dpkg-shlibdeps: the system libraries the binary links, none of the Swift toolchain.
        let depends = try #require(control.split(separator: "\n").first { $0.hasPrefix("Depends: ") })
        for package in ["libzstd1", "libsqlite3-0", "libc6", "systemd | systemd-standalone-sysusers"] {
            #expect(depends.contains(package), "\(depends)")
        }
        #expect(!depends.lowercased().contains("swift"), "\(depends)")

        let listing = try await runProcess(DebianPackageBuild.dpkgDeb, ["-c", deb], in: NSTemporaryDirectory())
        let lines = String(decoding: listing.stdout, as: UTF8.self).split(separator: "\n")
        let expected = [
            "./usr/bin/archiverelay": "-rwxr-xr-x root/root", "." + Self.config: "-rw-r--r-- root/root",
            "." + Self.unit: "-rw-r--r-- root/root",
            "./usr/lib/sysusers.d/archiverelay.conf": "-rw-r--r-- root/root",
            "./usr/lib/tmpfiles.d/archiverelay.conf": "-rw-r--r-- root/root",
            "./usr/share/bash-completion/completions/archiverelay": "-rw-r--r-- root/root",
            "./usr/share/zsh/vendor-completions/_archiverelay": "-rw-r--r-- root/root",
            "./usr/share/fish/vendor_completions.d/archiverelay.fish": "-rw-r--r-- root/root",
            "./usr/share/man/man1/archiverelay.1.gz": "-rw-r--r-- root/root",
            "./usr/share/doc/archiverelay/copyright": "-rw-r--r-- root/root",
            "./usr/share/lintian/overrides/archiverelay": "-rw-r--r-- root/root",
            "./usr/share/doc/archiverelay/changelog.Debian.gz": "-rw-r--r-- root/root",
        ]
        for (path, modeAndOwner) in expected {
            let line = lines.first { $0.hasSuffix(" " + path) }
            #expect(line?.hasPrefix(modeAndOwner) == true, "\(path): \(line ?? "missing")")
        }
        // Nothing but root owns a file of the package (--root-owner-group).
        #expect(lines.allSatisfy { $0.contains(" root/root ") }, "\(lines.filter { !$0.contains(" root/root ") })")
    }

    @Test func installsIntoAThrowawayRootAndKeepsTheArchiveThroughUpgradeRemoveAndPurge() async throws {
        let deb = try await DebianPackageBuild.shared.package()
        try await withTempDirectory("deb-install") { directory in
            let root = try DebianRoot(in: directory)
            let hostPasswd = try String(contentsOfFile: "/etc/passwd", encoding: .utf8)
            try await root.dpkg(["-i", deb])

            // The user exists in the root's /etc/passwd (and the host's is untouched).
            let users = try root.passwdEntries("archiverelay")
            #expect(users.count == 1, "\(users)")
            let user = try #require(users.first)
            let uid = try #require(Int(user[2])), gid = try #require(Int(user[3]))
            #expect(uid > 0 && uid < 1000, "a system user: \(user)")
            #expect(user[5] == Substring(Self.dataDir) && user[6] == "/usr/sbin/nologin", "\(user)")
            #expect(try root.read("/etc/group").contains("archiverelay:x:\(gid):"))
            #expect(try String(contentsOfFile: "/etc/passwd", encoding: .utf8) == hostPasswd)

            let owned = DebianRoot.Ownership(mode: 0o750, uid: uid, gid: gid)
            #expect(try root.ownership(Self.dataDir) == owned)
            #expect(try root.ownership("/usr/bin/archiverelay") == .init(mode: 0o755, uid: 0, gid: 0))
            #expect(try root.ownership(Self.config) == .init(mode: 0o644, uid: 0, gid: 0))
            #expect(try root.ownership(Self.unit) == .init(mode: 0o644, uid: 0, gid: 0))
            let installed = try await runProcess(root.path + "/usr/bin/archiverelay", ["--version"], in: directory)
            let version = try await Self.version()
            #expect(String(decoding: installed.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == version)
            let query = try await runProcess("/usr/bin/dpkg-query", ["--admindir=\(root.path)/var/lib/dpkg", "-W", "-f=${Conffiles}", "archiverelay"],
                                             in: directory)
            #expect(String(decoding: query.stdout, as: UTF8.self).contains(Self.config + " "), "conffiles: \(query.stdout)")

            // An upgrade (the same package again) keeps the user, the data and an edited conffile.
            let archived = Self.dataDir + "/archive-file"
            try "mail".write(toFile: root.path + archived, atomically: true, encoding: .utf8)
            let edited = try root.read(Self.config) + "# edited by the operator\n"
            try edited.write(toFile: root.path + Self.config, atomically: true, encoding: .utf8)
            try await root.dpkg(["-i", deb])
            #expect(try root.passwdEntries("archiverelay").map { $0.joined(separator: ":") } == [user.joined(separator: ":")])
            #expect(try root.ownership(Self.dataDir) == owned)
            #expect(try root.read(Self.config) == edited)

            // Remove keeps configuration and data; purge drops the configuration, never the archive.
            try await root.dpkg(["-r", "archiverelay"])
            #expect(!root.exists("/usr/bin/archiverelay") && !root.exists(Self.unit))
            #expect(root.exists(Self.config) && root.exists(archived))
            try await root.dpkg(["-P", "archiverelay"])
            #expect(!root.exists(Self.config))
            #expect(try root.read(archived) == "mail")
            #expect(try root.passwdEntries("archiverelay").count == 1)
        }
    }

    @Test func theUnitPassesSystemdAnalyzeVerifyAndScoresAsDocumented() async throws {
        try DebianPackageBuild.requireTools([DebianPackageBuild.systemdAnalyze])
        let deb = try await DebianPackageBuild.shared.package()
        try await withTempDirectory("deb-unit") { directory in
            let root = try DebianRoot(in: directory)
            try await root.dpkg(["-i", deb])
            // What the unit refers to besides the package: systemd's own units and /bin/kill.
            for (from, to) in [("/usr/lib/systemd/system/.", "/usr/lib/systemd/system/"), ("/usr/bin/kill", "/usr/bin/kill")] {
                let copy = try await runProcess("/bin/cp", ["-rn", from, root.path + to], in: directory)
                #expect(copy.status == 0, "\(copy.stderr)")
            }
            if !root.exists("/bin") { try FileManager.default.createSymbolicLink(atPath: root.path + "/bin", withDestinationPath: "usr/bin") }
            // Documentation=man:archiverelay(1) is looked up with man(1): in the root's pages.
            let verify = try await runProcess(DebianPackageBuild.systemdAnalyze, ["verify", "--root=\(root.path)", Self.unit], in: directory,
                                              environment: ["MANPATH": root.path + "/usr/share/man"])
            let output = String(decoding: verify.stdout, as: UTF8.self) + verify.stderr
            #expect(verify.status == 0 && output.isEmpty, "systemd-analyze verify: \(verify.status)\n\(output)")

            // The exposure score OPERATIONS.md states is the one systemd gives.
            let security = try await runProcess(DebianPackageBuild.systemdAnalyze, ["security", "--offline=yes", "--root=\(root.path)", Self.unit],
                                                in: directory)
            let score = String(decoding: security.stdout, as: UTF8.self).split(separator: "\n")
                .first { $0.contains("Overall exposure level") }?.split(separator: " ").dropFirst(6).first
            let operations = try String(contentsOfFile: NodeTestSupport.packageRoot.appendingPathComponent("docs/OPERATIONS.md").path, encoding: .utf8)
            #expect(score != nil && operations.contains("scores the unit **\(score ?? "?") OK**"), "systemd-analyze security gives \(String(describing: score)): \(String(decoding: security.stdout, as: UTF8.self).suffix(300))")
        }
    }

    @Test func lintianReportsNoErrors() async throws {
        try DebianPackageBuild.requireTools([DebianPackageBuild.lintian])
        let deb = try await DebianPackageBuild.shared.package()
        // custom-library-search-path is the debug binary's RUNPATH to the toolchain's Swift
        // runtime; make deb's binary links it statically and has no RUNPATH.
        let run = try await runProcess(DebianPackageBuild.lintian, ["--fail-on", "error", "--suppress-tags", "custom-library-search-path", deb],
                                       in: NSTemporaryDirectory())
        let output = String(decoding: run.stdout, as: UTF8.self)
        let errors = output.split(separator: "\n").filter { $0.hasPrefix("E: ") }
        #expect(run.status == 0 && errors.isEmpty, "lintian: \(run.status)\n\(output)\n\(run.stderr)")
    }

    @Test func theShippedConfigurationChecks() async throws {
        let run = try await runProcess(try NodeTestSupport.binary(),
                                       ["check-config", NodeTestSupport.packageRoot.appendingPathComponent("packaging/debian/node.toml").path],
                                       in: NSTemporaryDirectory())
        let output = String(decoding: run.stdout, as: UTF8.self)
        #expect(run.status == 0 && output.contains(": OK: "), "\(output)\(run.stderr)")
        #expect(!output.contains("warning:"), "\(output)")
    }

    @Test func aBinaryNeedingTheToolchainsSwiftRuntimeIsRefused() async throws {
        try DebianPackageBuild.requireTools([])
        try await withTempDirectory("deb-refuse") { directory in
            let run = try await runProcess("/bin/bash", [DebianPackageBuild.buildScript, try NodeTestSupport.binary(), directory + "/out"], in: directory)
            #expect(run.status == 1 && run.stderr.contains("links the Swift runtime dynamically"), "\(run.status): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: directory + "/out"))
        }
    }
}
