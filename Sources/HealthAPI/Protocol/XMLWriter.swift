/// Writes the EC2 API's XML: elements and escaped text, always well-formed whatever the text holds.
///
/// The document is built as UTF-8 bytes, appended piece by piece: appending to a `String` checked and recounted
/// the string on every piece, and `"<" + name + ">"` built a temporary for each tag (a page of 1,000 instances is
/// some 40,000 pieces).
public struct XMLWriter: Sendable {
    public private(set) var bytes: [UInt8]

    /// - Parameter prolog: start with the XML declaration (a whole document); false for a fragment.
    public init(prolog: Bool = true) {
        bytes = []
        bytes.reserveCapacity(prolog ? 4096 : 1024)
        if prolog { bytes.append(contentsOf: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n".utf8) }
    }

    /// Appends an already written fragment.
    public mutating func append(fragment: [UInt8]) { bytes.append(contentsOf: fragment) }

    /// The document as text.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Room for `count` more bytes at once (a page of instances), not grown by doubling.
    public mutating func reserve(_ count: Int) { bytes.reserveCapacity(bytes.count + count) }

    /// A string's UTF-8 bytes, copied at once when the string is stored contiguously (native strings are).
    @inline(__always)
    static func append(_ string: String, to bytes: inout [UInt8]) {
        var string = string
        string.withUTF8 { bytes.append(contentsOf: $0) }
    }

    public mutating func open(_ name: String, namespace: String? = nil) {
        bytes.append(0x3C)  // <
        Self.append(name, to: &bytes)
        if let namespace {
            bytes.append(contentsOf: " xmlns=\"".utf8)
            Self.append(namespace, to: &bytes)
            bytes.append(0x22)  // "
        }
        bytes.append(0x3E)  // >
    }

    public mutating func close(_ name: String) {
        bytes.append(0x3C)
        bytes.append(0x2F)  // /
        Self.append(name, to: &bytes)
        bytes.append(0x3E)
    }

    /// `<name>text</name>`, the text escaped.
    public mutating func element(_ name: String, _ value: String) {
        open(name)
        Self.escape(value, into: &bytes)
        close(name)
    }

    public mutating func element(_ name: String, _ body: (inout XMLWriter) -> Void) {
        open(name)
        body(&self)
        close(name)
    }

    /// Escapes markup characters and replaces characters XML 1.0 does not allow (most C0 controls) with U+FFFD.
    public static func escape(_ value: String, into out: inout [UInt8]) {
        // Most values (ids, zones, statuses, times) are plain ASCII with nothing to escape: checked on the bytes.
        guard value.utf8.contains(where: mayNeedEscape), value.unicodeScalars.contains(where: needsEscape) else {
            append(value, to: &out)
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": out.append(contentsOf: "&amp;".utf8)
            case "<": out.append(contentsOf: "&lt;".utf8)
            case ">": out.append(contentsOf: "&gt;".utf8)
            case "\"": out.append(contentsOf: "&quot;".utf8)
            case "'": out.append(contentsOf: "&apos;".utf8)
            case "\t", "\n", "\r": out.append(contentsOf: String(scalar).utf8)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out.append(contentsOf: "\u{FFFD}".utf8)
                } else {
                    out.append(contentsOf: String(scalar).utf8)
                }
            }
        }
    }

    public static func escape(_ value: String) -> String {
        var out: [UInt8] = []
        escape(value, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// A byte that may need escaping: markup (`&`, `<`, `>`, `"`, `'`), a control character, or any byte of a
    /// non-ASCII character (those are checked by scalar).
    private static func mayNeedEscape(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x26, 0x3C, 0x3E, 0x22, 0x27: true
        default: byte < 0x20 || byte >= 0x80
        }
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "&", "<", ">", "\"", "'": true
        default: scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF
        }
    }
}

extension EC2Error {
    /// AWS's error document: `Response/Errors/Error/Code,Message` and `RequestID`.
    public func xml(requestID: String) -> String {
        var writer = XMLWriter()
        writer.open("Response")
        writer.element("Errors") { errors in
            errors.element("Error") { error in
                error.element("Code", code.rawValue)
                error.element("Message", message)
            }
        }
        writer.element("RequestID", requestID)
        writer.close("Response")
        return writer.text
    }
}
