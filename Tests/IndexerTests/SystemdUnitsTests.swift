import Foundation
import XCTest
import Daemon

/// The units in systemd/ pass `systemd-analyze verify`, the system
/// service's `systemd-analyze security` exposure stays at or below 0.4
/// (issue #11; it is 0.4), and the gallery's two services' at or below 2.0
/// (issue #14).
final class SystemdUnitsTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func analyze(_ args: [String], in dir: URL, environment: [String: String] = [:]) throws -> ProcessResult {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") else {
            throw XCTSkip("systemd-analyze is not installed (Debian package systemd)")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-analyze")
        p.arguments = args
        p.currentDirectoryURL = dir
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return ProcessResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    static let units = ["revsdd.service", "revsdd.socket", "revsd-web.service", "revsd-web.socket", "revsd-web-proxy.service"]

    /// Copies the units with ExecStart pointing at the binaries just built.
    func staged(_ sub: String) throws -> URL {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("revsd-units-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in Self.units {
            let text = try String(contentsOf: Self.root.appendingPathComponent("systemd/\(sub)\(name)"), encoding: .utf8)
            try text.replacingOccurrences(of: "/usr/local/bin/revsd-web ", with: productsDirectory.appendingPathComponent("revsd-web").path + " ")
                .replacingOccurrences(of: "/usr/local/bin/revsdd", with: productsDirectory.appendingPathComponent("revsdd").path)
                .write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return dir
    }

    /// `systemd-analyze security`'s overall exposure of `unit`.
    func exposure(_ unit: String, in dir: URL) throws -> Double {
        let s = try analyze(["security", "--offline=yes", unit], in: dir)
        let line = (s.stdout + s.stderr).split(separator: "\n").first { $0.contains("Overall exposure level") }
        let figure = line.flatMap { l in l.split(separator: " ").compactMap { Double($0) }.first }
        return try XCTUnwrap(figure, s.stdout + s.stderr)
    }

    func testSystemUnitsVerifyAndAreHardened() throws {
        let dir = try staged("")
        defer { try? FileManager.default.removeItem(at: dir) }
        let v = try analyze(["verify"] + Self.units, in: dir)
        XCTAssertEqual(v.status, 0, v.stderr + v.stdout)
        let daemon = try exposure("revsdd.service", in: dir)
        XCTAssertLessThanOrEqual(daemon, 0.4)
        print("systemd-analyze security: revsdd.service exposure \(daemon)")
        for unit in ["revsd-web.service", "revsd-web-proxy.service"] {
            let e = try exposure(unit, in: dir)
            XCTAssertLessThanOrEqual(e, 2.0, unit)
            print("systemd-analyze security: \(unit) exposure \(e)")
        }
    }

    /// The gallery's service has no network and no writable path but its
    /// runtime directory, and reads its token as a credential.
    func testTheGalleryServiceIsConfinedToItsRuntimeDirectory() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("systemd/revsd-web.service"), encoding: .utf8)
        let settings = Set(text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") })
        for line in ["PrivateNetwork=yes", "RestrictAddressFamilies=AF_UNIX", "ProtectSystem=strict", "ProtectHome=yes",
                     "RuntimeDirectory=revsd-web", "LoadCredential=web-token:/etc/revsd/web-token"] {
            XCTAssert(settings.contains(line), "revsd-web.service lacks \(line)")
        }
        XCTAssertFalse(text.contains("ReadWritePaths"), "revsd-web.service may write only its runtime directory")
        let socket = try String(contentsOf: Self.root.appendingPathComponent("systemd/revsd-web.socket"), encoding: .utf8)
        XCTAssert(socket.contains("ListenStream=127.0.0.1:8277") && socket.contains("ListenStream=[::1]:8277"), socket)
        XCTAssertFalse(socket.contains("0.0.0.0"), "the gallery listens on loopback only")
    }

    func testUserUnitsVerify() throws {
        let dir = try staged("user/")
        defer { try? FileManager.default.removeItem(at: dir) }
        let runtime = dir.appendingPathComponent("runtime")
        try FileManager.default.createDirectory(at: runtime, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let v = try analyze(["--user", "verify"] + Self.units, in: dir, environment: ["XDG_RUNTIME_DIR": runtime.path])
        XCTAssertEqual(v.status, 0, v.stderr + v.stdout)
    }

    func testTheExampleConfigurationParses() throws {
        var c = Daemon.DaemonConfig.defaults()
        XCTAssertNoThrow(try c.apply(file: Self.root.appendingPathComponent("config/revsdd.toml").path, required: true))
        XCTAssertEqual(c.imageEncoders, ["efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2"])
    }
}

