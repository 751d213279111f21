import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The controlling terminal: raw mode on the alternate screen, keys read on a dedicated thread (never on the
/// cooperative pool), resizes through `SIGWINCH`.
///
/// `@unchecked Sendable`: its mutable state (the saved settings, the signal source) is set in ``start()`` and read
/// in ``stop()``, both by the client's one loop; the reader thread and the signal handler only use the stream.
final class Terminal: @unchecked Sendable {
    enum Input: Sendable {
        case bytes([UInt8])
        case resized
        case closed
    }

    let inputs: AsyncStream<Input>
    private let continuation: AsyncStream<Input>.Continuation
    private var saved = termios()
    private var resizeSource: (any DispatchSourceSignal)?

    init() {
        (self.inputs, self.continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Enters raw mode and the alternate screen, and starts reading keys.
    func start() {
        tcgetattr(STDIN_FILENO, &self.saved)
        var raw = self.saved
        raw.c_lflag &= ~tcflag_t(ECHO | ICANON | ISIG | IEXTEN)
        raw.c_iflag &= ~tcflag_t(IXON | ICRNL | BRKINT | INPCK | ISTRIP)
        // Each read returns as soon as one byte is there (VMIN 1, VTIME 0; Linux's indices 6 and 5).
        raw.c_cc.6 = 1
        raw.c_cc.5 = 0
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw)
        self.write("\u{1B}[?1049h\u{1B}[?25l")
        let continuation = self.continuation
        signal(SIGWINCH, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGWINCH, queue: .global())
        source.setEventHandler { continuation.yield(.resized) }
        source.resume()
        self.resizeSource = source
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 256)
            while true {
                let count = read(STDIN_FILENO, &buffer, buffer.count)
                if count > 0 {
                    continuation.yield(.bytes(Array(buffer[0..<count])))
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    continuation.yield(.closed)
                    return
                }
            }
        }
        thread.start()
    }

    /// Leaves the alternate screen and restores the terminal as it was.
    func stop() {
        self.resizeSource?.cancel()
        self.write("\u{1B}[?25h\u{1B}[?1049l")
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &self.saved)
    }

    /// Rows and columns (24×80 when unknown).
    var size: (rows: Int, columns: Int) {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0, size.ws_col > 0 else { return (24, 80) }
        return (Int(size.ws_row), Int(size.ws_col))
    }

    func write(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { Glibc.write(STDOUT_FILENO, $0.baseAddress! + offset, $0.count - offset) }
            if written <= 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }
}
