/// Writes the EC2 API's XML: elements and escaped text, always well-formed whatever the text holds.
public struct XMLWriter: Sendable {
    public private(set) var text: String

    public init() {
        text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        text.reserveCapacity(4096)
    }

    // Pieces are appended one by one: `"<" + name + ">"` would build (and allocate) a temporary string for each tag,
    // a hundred per instance of a DescribeInstanceStatus page.

    public mutating func open(_ name: String, namespace: String? = nil) {
        text.append("<")
        text.append(name)
        if let namespace {
            text.append(" xmlns=\"")
            text.append(namespace)
            text.append("\"")
        }
        text.append(">")
    }

    public mutating func close(_ name: String) {
        text.append("</")
        text.append(name)
        text.append(">")
    }

    /// `<name>text</name>`, the text escaped.
    public mutating func element(_ name: String, _ value: String) {
        open(name)
        Self.escape(value, into: &text)
        close(name)
    }

    public mutating func element(_ name: String, _ body: (inout XMLWriter) -> Void) {
        open(name)
        body(&self)
        close(name)
    }

    /// Escapes markup characters and replaces characters XML 1.0 does not allow (most C0 controls) with U+FFFD.
    public static func escape(_ value: String, into out: inout String) {
        // Most values (ids, zones, statuses, times) are plain ASCII with nothing to escape: checked on the bytes.
        guard value.utf8.contains(where: { $0 < 0x20 || $0 >= 0x80 || Self.markup.contains($0) }) else {
            out.append(value)
            return
        }
        guard value.unicodeScalars.contains(where: needsEscape) else {
            out.append(value)
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
    }

    public static func escape(_ value: String) -> String {
        var out = ""
        escape(value, into: &out)
        return out
    }

    /// `&`, `<`, `>`, `"` and `'` as bytes.
    private static let markup: [UInt8] = [0x26, 0x3C, 0x3E, 0x22, 0x27]

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
