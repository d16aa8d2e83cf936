import Foundation

extension JSONEncoder {
    /// The encoder of every record hive-health writes (messages, KV values, state): dates as ``RFC3339/format(_:)``
    /// (UTC, milliseconds), sorted keys.
    public static var healthMessages: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(RFC3339.format(date))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

extension JSONDecoder {
    /// Reads what ``JSONEncoder/healthMessages`` writes, and Hive's records: dates by ``RFC3339/parse(_:)``, the one
    /// RFC 3339 reader of the package.
    public static var healthMessages: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = RFC3339.parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an RFC 3339 date: \(text)")
            }
            return date
        }
        return decoder
    }
}
