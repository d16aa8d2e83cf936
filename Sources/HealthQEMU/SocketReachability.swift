import HealthIO

/// Whether something accepts connections on a unix socket (a serial console chardev, a VNC socket): connect, then
/// close at once, without reading or writing.
public enum SocketReachability {
    /// Nil when a connection was accepted, else why not (``QEMUError/Code/missing``, ``QEMUError/Code/refused``...).
    public static func check(path: String) -> QEMUError? {
        StreamSocket.probe(unixPath: path).map(QEMUError.init)
    }
}
