/// Writes the EC2 API's XML: elements and escaped text, always well-formed whatever the text holds.
public struct XMLWriter: Sendable {
    public private(set) var text: String

    public init() {
        text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        text.reserveCapacity(4096)
    }

    public mutating func open(_ name: String, namespace: String? = nil) {
        text += "<" + name
        if let namespace { text += " xmlns=\"" + namespace + "\"" }
        text += ">"
    }

    public mutating func close(_ name: String) { text += "</" + name + ">" }

    /// `<name>text</name>`, the text escaped.
    public mutating func element(_ name: String, _ value: String) {
        text += "<" + name + ">"
        Self.escape(value, into: &text)
        text += "</" + name + ">"
    }

    public mutating func element(_ name: String, _ body: (inout XMLWriter) -> Void) {
        open(name)
        body(&self)
        close(name)
    }

    /// Escapes markup characters and replaces characters XML 1.0 does not allow (most C0 controls) with U+FFFD.
    public static func escape(_ value: String, into out: inout String) {
        var needs = false
        for scalar in value.unicodeScalars where needsEscape(scalar) {
            needs = true
            break
        }
        guard needs else {
            out += value
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
