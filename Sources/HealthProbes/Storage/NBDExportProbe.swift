import HealthCore
import HealthBlock
import ProbeKit

/// `nbd.export`: the storage path of a volume, end to end. Connects to the volume's NBD URI, negotiates (fixed
/// newstyle, `NBD_OPT_GO`), reads one block at offset 0 and disconnects; never writes. Passes with the latency;
/// fails when nothing serves the URI (socket gone, connection refused), when the server stalls, answers the read
/// with an error or does not speak NBD: the message says which. A URI it cannot use is unknown.
public struct NBDExportProbe: ParameterizedProbe {
    public static let descriptor = ProbeDescriptor(
        kind: "nbd.export", category: .ebs, targets: [.volume],
        parameters: [
            ParameterSpec(
                "uri", .string, default: .string("{{volume.nbd_uri}}"),
                doc: "The export: nbd:unix:/path.sock, nbd+unix:///export?socket=/path or nbd://host:port/export."),
            ParameterSpec(
                "read_bytes", .integer, default: .integer(4096), range: 512...1_048_576,
                doc: "How many bytes to read at offset 0."),
            ParameterSpec(
                "max_latency", .duration, default: nil,
                doc: "Fail when the whole session takes longer than this (unset: only the check's timeout)."),
        ],
        timeoutClass: .ebs,
        summary: "NBD fixed-newstyle handshake and a read of block 0 on the volume's NBD URI, latency")

    public let environment: ProbeEnvironment

    public init(environment: ProbeEnvironment) { self.environment = environment }

    /// What a run reads of its parameters (``ProbeKit/ParameterizedProbe``).
    public typealias Settings = (uri: String, length: Int, maxLatency: Duration?)

    public func observe(_ request: ProbeRequest, with settings: Settings) async -> Observation {
        let (uri, length, maxLatency) = settings
        let address: NBDAddress
        do {
            address = try NBDAddress(parsing: uri)
        } catch {
            return .unknown("volume \(request.target.id): \(error.message)")
        }
        let read: NBDReadResult
        do {
            read = try await NBDClient.readBlock(
                at: address, length: length, timeout: Self.budget(request), logger: request.logger)
        } catch {
            return Self.observation(for: error)
        }
        var values = [
            "latency_seconds": read.totalSeconds, "handshake_seconds": read.handshakeSeconds,
            "read_seconds": read.readSeconds, "size_bytes": Double(read.exportSize),
        ]
        values["read_only"] = read.isReadOnly ? 1 : 0
        let summary =
            "read \(read.bytesRead) bytes of \(ReadableUnits.bytes(Double(read.exportSize))) at offset 0 in "
            + "\(Self.milliseconds(read.totalSeconds))"
        if let maxLatency, read.totalSeconds > maxLatency.seconds {
            return .failed("slow storage path: \(summary), over max_latency \(maxLatency)", values: values)
        }
        return .passed(summary, values: values)
    }

    public func settings(_ parameters: CheckParameters, request: ProbeRequest) throws -> Settings {
        let uri = try parameters.string("uri") ?? ""
        let length = try parameters.integer("read_bytes") ?? 4096
        let maxLatency = try parameters.duration("max_latency")
        return (uri, length, maxLatency)
    }

    /// Most of the check's timeout, so a stall is this probe's failure and not the scheduler's timeout (unknown).
    static func budget(_ request: ProbeRequest) -> Duration {
        max(.milliseconds(100), request.timeout * 0.9)
    }

    static func observation(for error: NBDError) -> Observation {
        if error.isStoragePathBroken { return .failed("storage path broken: \(error)") }
        return .unknown("\(error)")
    }

    static func milliseconds(_ seconds: Double) -> String {
        let value = (seconds * 10_000).rounded() / 10
        return "\(value) ms"
    }
}
