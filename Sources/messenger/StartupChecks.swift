import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The start-up checks that need no database: each throws a ``StartupFailure`` that says what to do.
enum StartupChecks {
    /// The shortest `JWT_KEY` accepted: HS256 keys shorter than the hash output weaken it (RFC 7518 §3.2).
    static let minimumKeyBytes = 32

    /// `JWT_KEY` as bytes, nil when unset (a key is then generated in the data folder).
    static func environmentJWTKey(_ value: String?) throws -> [UInt8]? {
        guard let value, !value.isEmpty else { return nil }
        let bytes = Array(value.utf8)
        guard bytes.count >= Self.minimumKeyBytes else {
            throw StartupFailure(
                "JWT_KEY is \(bytes.count) bytes; it must be at least \(Self.minimumKeyBytes): generate one with `openssl rand -base64 48`, or unset it to use a generated key"
            )
        }
        return bytes
    }

    /// The migrations folder must exist and be readable.
    static func schemaFolder(_ directory: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw StartupFailure(
                "the schema folder \(directory.path) does not exist: pass --schema-dir with the path of the repository's schema/ folder")
        }
        guard (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) != nil else {
            throw StartupFailure("the schema folder \(directory.path) cannot be read: fix its permissions or pass another --schema-dir")
        }
    }

    /// The web app's folder: an explicit `--web-dir` must be readable and hold `index.html`; without one, the
    /// folder found next to the package is used if readable, and the server runs API-only otherwise.
    static func webFolder(explicit: String?, found: URL?, logger: Logger) throws -> String? {
        guard let path = explicit ?? found?.path else {
            logger.warning("no web/ folder found: serving the API only (pass --web-dir to serve the web app)")
            return nil
        }
        let index = URL(fileURLWithPath: path).appendingPathComponent("index.html").path
        var isDirectory: ObjCBool = false
        let readable =
            FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
            && access(path, R_OK | X_OK) == 0 && access(index, R_OK) == 0 && FileManager.default.contents(atPath: index) != nil
        guard readable else {
            throw StartupFailure(
                "the web folder \(path) cannot be read (it must be a readable folder with index.html): pass --web-dir with the path of the repository's web/ folder"
            )
        }
        return path
    }

    /// The data folder (embedded cluster, generated token key) must be creatable and writable. Checked by writing
    /// a file, which also catches read-only file systems where `access(W_OK)` says yes to root.
    static func dataFolder(_ directory: URL) throws {
        let advice = "choose another folder with --data-dir or fix its permissions"
        // mkdir one level at a time: errno says why ("Not a directory", "Permission denied", "Read-only file
        // system"), where Foundation's error only says that it failed.
        var path = ""
        for component in directory.standardizedFileURL.path.split(separator: "/") {
            path += "/" + component
            if mkdir(path, 0o755) != 0, errno != EEXIST {
                let reason = String(cString: strerror(errno))
                throw StartupFailure("the data folder \(directory.path) cannot be created (\(path): \(reason)): \(advice)")
            }
        }
        let probe = directory.appendingPathComponent(".write-test-\(getpid())")
        do {
            try Data().write(to: probe)
            try? FileManager.default.removeItem(at: probe)
        } catch {
            throw StartupFailure("the data folder \(directory.path) is not writable (\(Self.reason(error))): \(advice)")
        }
    }

    /// True for addresses only this machine can reach.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    private static func reason(_ error: any Error) -> String {
        let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
        if let code = underlying?.code, underlying?.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(code)))
        }
        return (error as NSError).localizedDescription
    }
}
