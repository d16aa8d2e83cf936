import Foundation

/// The bytes of one configuration file, checked for size and encoding before any parser sees them.
struct SourceText {
    /// Files larger than this are refused unread: no configuration needs more, and parsers are not bounded.
    static let sizeLimit = 1 << 20

    let file: String
    let bytes: [UInt8]
    let text: String

    /// Checks `bytes` (size, then UTF-8) and decodes them.
    init(file: String, bytes: [UInt8]) throws(CatalogueError) {
        try SourceText.checkSize(bytes.count, file: file)
        if let bad = SourceText.firstInvalidUTF8(bytes) {
            let (line, column) = SourceText.lineAndColumn(bytes, offset: bad)
            throw CatalogueError(
                file: file, line: line, column: column, key: "",
                message: String(format: "invalid UTF-8 byte 0x%02X: the file must be UTF-8 text", bytes[bad]),
                code: .encoding)
        }
        self.file = file
        self.bytes = bytes
        self.text = String(decoding: bytes, as: UTF8.self)
    }

    /// Reads `path`, refusing a file over the limit before reading it.
    static func read(path: String, displayName: String) throws(CatalogueError) -> SourceText {
        let attributes: [FileAttributeKey: Any]
        // Configuration in /etc is often symlinked: the checks apply to what the link points at.
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: resolved)
        } catch {
            throw CatalogueError(file: displayName, line: 0, column: 0, key: "",
                                 message: "cannot read the file: \(Self.reason(error))", code: .unreadable)
        }
        if let type = attributes[.type] as? FileAttributeType, type != .typeRegular {
            throw CatalogueError(file: displayName, line: 0, column: 0, key: "",
                                 message: "not a regular file", code: .unreadable)
        }
        if let size = (attributes[.size] as? NSNumber)?.intValue { try checkSize(size, file: displayName) }
        guard let handle = FileHandle(forReadingAtPath: resolved) else {
            throw CatalogueError(file: displayName, line: 0, column: 0, key: "",
                                 message: "cannot open the file", code: .unreadable)
        }
        defer { try? handle.close() }
        let data: Data
        do {
            // One byte past the limit tells a file that grew after the size check.
            data = try handle.read(upToCount: sizeLimit + 1) ?? Data()
        } catch {
            throw CatalogueError(file: displayName, line: 0, column: 0, key: "",
                                 message: "cannot read the file: \(Self.reason(error))", code: .unreadable)
        }
        return try SourceText(file: displayName, bytes: [UInt8](data))
    }

    static func checkSize(_ size: Int, file: String) throws(CatalogueError) {
        guard size > sizeLimit else { return }
        let megabytes = Double(size) / 1_000_000
        throw CatalogueError(
            file: file, line: 0, column: 0, key: "",
            message: String(format: "file is %.1f MB, the limit is 1 MiB", megabytes), code: .tooLarge)
    }

    static func reason(_ error: any Error) -> String {
        if let error = error as? CocoaError, let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError {
            return underlying.localizedDescription
        }
        return (error as NSError).localizedDescription
    }

    /// The offset of the first byte that does not belong to a well-formed UTF-8 sequence, or nil.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var index = 0
        let count = bytes.count
        while index < count {
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            let length: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return index
            }
            for offset in 1..<length {
                let position = index + offset
                // The sequence's lead byte is reported: that is where the bad character starts.
                guard position < count else { return index }
                let byte = bytes[position]
                let (min, max) = offset == 1 ? (low, high) : (UInt8(0x80), UInt8(0xBF))
                guard byte >= min, byte <= max else { return index }
            }
            index += length
        }
        return nil
    }

    /// The 1-based line and column (in Unicode scalars) of a byte offset.
    static func lineAndColumn(_ bytes: [UInt8], offset: Int) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        var index = 0
        let end = min(offset, bytes.count)
        while index < end {
            let byte = bytes[index]
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
            index += 1
        }
        return (line, column)
    }

    /// The 1-based line and column of the `characterOffset`-th character of `text`.
    static func lineAndColumn(_ text: String, characterOffset: Int) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for (position, character) in text.enumerated() {
            if position >= characterOffset { break }
            if character == "\n" || character == "\r\n" {
                line += 1
                column = 1
            } else {
                column += character.unicodeScalars.count
            }
        }
        return (line, column)
    }
}
