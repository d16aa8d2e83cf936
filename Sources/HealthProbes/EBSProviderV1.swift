import Foundation

/// Spinifex's EBS provider contract `ebs.provider.v1` (spinifex/ebsprovider/ of mulgadc/spinifex, read at ddf22cac):
/// the subjects and the messages hive-health sends and reads, named after their Go structs.
enum EBSProviderV1 {
    /// `SchemaVersion` (provider.go).
    static let schemaVersion = 1
    /// `GetVolumeSubject` (nats.go): served under the `spinifex-workers` queue group by any node.
    static let describeSubject = "ebs.provider.v1.volume.describe"
    /// `CapabilitiesSubject` (nats.go): read-only, queue-grouped; what `viperblock.service` asks.
    static let capabilitiesSubject = "ebs.provider.v1.capabilities"

    /// `GetVolumeOwnerSubject(volumeID)` (nats.go): `ebs.provider.v1.owner.<vol>.volume.describe`, answered by the
    /// node that has the volume mounted. Nil for an id that is not one subject token (`validateSubjectToken`).
    static func ownerDescribeSubject(volume: String) -> String? {
        guard !volume.isEmpty, !volume.contains(where: { ".*> \t".contains($0) }) else { return nil }
        return "ebs.provider.v1.owner.\(volume).volume.describe"
    }

    /// `GetVolumeRequest` (provider.go): `Versioned` plus `volume_id`, `handle,omitempty`.
    struct GetVolumeRequest: Encodable {
        var schemaVersion = EBSProviderV1.schemaVersion
        var volumeID: String
        var handle: String?

        enum CodingKeys: String, CodingKey {
            case schemaVersion = "schema_version"
            case volumeID = "volume_id"
            case handle
        }
    }

    /// `GetCapabilitiesRequest` (provider.go): `Versioned` alone.
    struct GetCapabilitiesRequest: Encodable {
        var schemaVersion = EBSProviderV1.schemaVersion

        enum CodingKeys: String, CodingKey { case schemaVersion = "schema_version" }
    }

    /// `Volume` (provider.go): `id`, `capacity_bytes`, `state`, `handle`, `availability_zone,omitempty`
    /// (`provider_data` is not read).
    struct Volume: Decodable {
        var id: String?
        var capacityBytes: Int64?
        var state: String?
        var handle: String?
        var availabilityZone: String?

        enum CodingKeys: String, CodingKey {
            case id, state, handle
            case capacityBytes = "capacity_bytes"
            case availabilityZone = "availability_zone"
        }
    }

    /// `ProviderError` (errors.go): `code` (an `ErrorCode` such as `not_found`, `unavailable`), `message`.
    struct ProviderError: Decodable {
        var code: String?
        var message: String?

        /// `ErrorCode.Retryable()` (errors.go): only `unavailable` says the same request may succeed later.
        var isRetryable: Bool { code == "unavailable" }
    }

    /// `GetVolumeResponse` and `GetCapabilitiesResponse` (provider.go): `Versioned`, the payload (`volume`, or
    /// `capabilities`, not read) and `error,omitempty`.
    struct Response: Decodable {
        var schemaVersion: Int?
        var volume: Volume?
        var error: ProviderError?

        enum CodingKeys: String, CodingKey {
            case schemaVersion = "schema_version"
            case volume, error
        }

        /// Replies larger than NATS' default max payload are not a provider's.
        static func decode(_ bytes: [UInt8]) -> Response? {
            guard bytes.count <= 1024 * 1024 else { return nil }
            return try? JSONDecoder().decode(Response.self, from: Data(bytes))
        }
    }

    static func encode(_ value: some Encodable) -> [UInt8] {
        Array((try? JSONEncoder().encode(value)) ?? Data())
    }
}
