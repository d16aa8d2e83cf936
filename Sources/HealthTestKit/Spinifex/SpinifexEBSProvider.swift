import Foundation
import HealthNATS
import Synchronization

/// A stand-in for Spinifex's EBS provider daemon (viperblockd) on `ebs.provider.v1`, shaped from mulgadc/spinifex at
/// ddf22cacfb0bd8c836583924a2a0acc359704cf6:
/// - subjects: spinifex/ebsprovider/nats.go `GetVolumeSubject`, `CapabilitiesSubject`, `GetVolumeOwnerSubject`
///   (`ebs.provider.v1.owner.<vol>.volume.describe`, subscribed only for the volumes this node owns, as
///   spinifex/services/viperblockd/provider_handlers.go does for its mounted volumes);
/// - request: provider.go `GetVolumeRequest` (`Versioned{schema_version}`, `volume_id`, `handle,omitempty`), decoded
///   as natsserve/server.go `handleGetVolume` does: bad JSON is `invalid_argument`, a schema_version other than 1 is
///   `unsupported_version`;
/// - reply: provider.go `GetVolumeResponse` (`schema_version`, `volume,omitempty`, `error,omitempty`), `Volume`
///   (`id`, `capacity_bytes`, `state`, `handle`, `availability_zone,omitempty`), errors.go `ProviderError`
///   (`code`, `message`) with its `ErrorCode` values; `GetCapabilitiesResponse` (`capabilities`, `error`).
///
/// Every request is recorded (subject and raw body) so tests can check what hive-health sent.
public final class SpinifexEBSProvider: Sendable {
    /// provider.go `Volume`.
    public struct Volume: Codable, Sendable, Hashable {
        public var id: String
        public var capacityBytes: Int64
        public var state: String
        public var handle: String
        public var availabilityZone: String?

        enum CodingKeys: String, CodingKey {
            case id, state, handle
            case capacityBytes = "capacity_bytes"
            case availabilityZone = "availability_zone"
        }

        public init(id: String, capacityBytes: Int64 = 1 << 30, state: String = "in-use", handle: String? = nil,
                    availabilityZone: String? = "ap-southeast-2a") {
            self.id = id
            self.capacityBytes = capacityBytes
            self.state = state
            self.handle = handle ?? "vb-\(id)"
            self.availabilityZone = availabilityZone
        }
    }

    /// errors.go `ProviderError`.
    public struct ProviderError: Codable, Sendable, Hashable {
        public var code: String
        public var message: String

        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    /// A request as received.
    public struct Request: Sendable, Hashable {
        public var subject: String
        public var body: String
    }

    private struct GetVolumeRequest: Decodable {
        var schemaVersion: Int
        var volumeID: String
        var handle: String?

        enum CodingKeys: String, CodingKey {
            case schemaVersion = "schema_version"
            case volumeID = "volume_id"
            case handle
        }
    }

    private struct GetVolumeResponse: Encodable {
        var schemaVersion = 1
        var volume: Volume?
        var error: ProviderError?

        enum CodingKeys: String, CodingKey {
            case schemaVersion = "schema_version"
            case volume, error
        }
    }

    /// provider.go `Capabilities` (the flags viperblockd advertises; hive-health reads none of them).
    private struct Capabilities: Encodable {
        var onlineExpansion = true
        var sparseExtentReporting = false
        var crashConsistentSnapshot = true
        var volumeSeeding = true
        var readOnlyPublish = true
        var volumeEnumeration = true

        enum CodingKeys: String, CodingKey {
            case onlineExpansion = "online_expansion"
            case sparseExtentReporting = "sparse_extent_reporting"
            case crashConsistentSnapshot = "crash_consistent_snapshot"
            case volumeSeeding = "volume_seeding"
            case readOnlyPublish = "read_only_publish"
            case volumeEnumeration = "volume_enumeration"
        }
    }

    private struct GetCapabilitiesResponse: Encodable {
        var schemaVersion = 1
        var capabilities = Capabilities()
        enum CodingKeys: String, CodingKey {
            case schemaVersion = "schema_version"
            case capabilities
        }
    }

    private struct State {
        var volumes: [String: Volume] = [:]
        var errors: [String: ProviderError] = [:]
        var requests: [Request] = []
    }

    private let connection: NATSConnection
    private let state = Mutex(State())
    private let subscriptions: Mutex<[String: NATSSubscription]> = Mutex([:])

    /// Subscribes the queue subjects and the owner subject of each volume in `owned` (ids of `volumes`).
    public init(connection: NATSConnection, volumes: [Volume], owned: Set<String>) async throws {
        self.connection = connection
        state.withLock { state in
            for volume in volumes { state.volumes[volume.id] = volume }
        }
        try await serve(["ebs.provider.v1.volume.describe", "ebs.provider.v1.capabilities"])
        try await own(owned.sorted())
    }

    /// This node mounts `volumes` from now on: it answers their owner subjects.
    public func own(_ volumes: [String]) async throws {
        try await serve(volumes.map { "ebs.provider.v1.owner.\($0).volume.describe" })
    }

    private func serve(_ subjects: [String]) async throws {
        for subject in subjects where subscriptions.withLock({ $0[subject] == nil }) {
            let subscription = try connection.subscribe(subject)
            subscriptions.withLock { $0[subject] = subscription }
            Task { [self] in
                for await message in subscription { answer(message) }
            }
        }
        try await connection.flush()
    }

    /// Stops answering.
    public func stop() {
        let all = subscriptions.withLock { all in
            defer { all = [:] }
            return Array(all.values)
        }
        for subscription in all { subscription.unsubscribe() }
    }

    /// The requests received so far, oldest first.
    public var requests: [Request] { state.withLock { $0.requests } }

    /// Sets (or adds) a volume as describe reports it.
    public func set(_ volume: Volume) { state.withLock { $0.volumes[volume.id] = volume } }

    /// Makes describe of `volume` answer `error` (nil clears it).
    public func fail(_ volume: String, with error: ProviderError?) { state.withLock { $0.errors[volume] = error } }

    private func answer(_ message: NATSMessage) {
        guard let reply = message.replyTo else { return }
        state.withLock { $0.requests.append(Request(subject: message.subject, body: message.text)) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data: Data?
        if message.subject == "ebs.provider.v1.capabilities" {
            data = try? encoder.encode(GetCapabilitiesResponse())
        } else {
            data = try? encoder.encode(describe(message.payload))
        }
        try? connection.publish(reply, payload: Array(data ?? Data()))
    }

    private func describe(_ payload: [UInt8]) -> GetVolumeResponse {
        guard let request = try? JSONDecoder().decode(GetVolumeRequest.self, from: Data(payload)) else {
            return GetVolumeResponse(error: ProviderError(code: "invalid_argument", message: "bad request"))
        }
        guard request.schemaVersion == 1 else {
            return GetVolumeResponse(
                error: ProviderError(
                    code: "unsupported_version", message: "unsupported schema version \(request.schemaVersion)"))
        }
        return state.withLock { state in
            if let error = state.errors[request.volumeID] { return GetVolumeResponse(error: error) }
            guard let volume = state.volumes[request.volumeID] else {
                return GetVolumeResponse(
                    error: ProviderError(code: "not_found", message: "volume \(request.volumeID) not found"))
            }
            return GetVolumeResponse(volume: volume)
        }
    }
}
