import Foundation

/// A VM record as Spinifex's daemon writes it into `spinifex-instance-state` (`node.<node>` = `{"vms": {id: VM}}`,
/// a stopped one as `instance.<id>`): spinifex/vm/vm.go `VM`, `Config`, `InstanceHealthState`, `ExtraENI` and
/// spinifex/types/ebs.go `EBSRequests`/`EBSRequest` of mulgadc/spinifex at ddf22cacfb0bd8c836583924a2a0acc359704cf6.
/// Only the fields hive-health reads, with Go's JSON names (`omitempty` ones left out when empty).
public struct SpinifexVM: Codable, Sendable, Hashable {
    /// vm.go `Config` (the runtime files).
    public struct Config: Codable, Sendable, Hashable {
        public var name: String
        public var pidFile: String
        public var qmpSocket: String
        public var telemetryQMPSocket: String?
        public var consoleLogPath: String?
        public var serialSocket: String?
        public var instanceType: String

        enum CodingKeys: String, CodingKey {
            case name
            case pidFile = "pid_file"
            case qmpSocket = "qmp_socket"
            case telemetryQMPSocket = "telemetry_qmp_socket"
            case consoleLogPath = "console_log_path"
            case serialSocket = "serial_socket"
            case instanceType = "instance_type"
        }

        public init(
            name: String, pidFile: String = "", qmpSocket: String = "", telemetryQMPSocket: String? = nil,
            consoleLogPath: String? = nil, serialSocket: String? = nil, instanceType: String = "t3.micro"
        ) {
            self.name = name
            self.pidFile = pidFile
            self.qmpSocket = qmpSocket
            self.telemetryQMPSocket = telemetryQMPSocket
            self.consoleLogPath = consoleLogPath
            self.serialSocket = serialSocket
            self.instanceType = instanceType
        }
    }

    /// types/ebs.go `EBSRequest`.
    public struct EBSRequest: Codable, Sendable, Hashable {
        public var name: String
        public var volType = "gp3"
        public var boot: Bool
        public var efi = false
        public var deleteOnTermination = true
        public var nbdURI: String
        public var deviceName: String

        enum CodingKeys: String, CodingKey {
            case name = "Name"
            case volType = "VolType"
            case boot = "Boot"
            case efi = "EFI"
            case deleteOnTermination = "DeleteOnTermination"
            case nbdURI = "NBDURI"
            case deviceName = "DeviceName"
        }

        public init(name: String, boot: Bool, nbdURI: String = "", deviceName: String = "") {
            self.name = name
            self.boot = boot
            self.nbdURI = nbdURI
            self.deviceName = deviceName
        }
    }

    /// types/ebs.go `EBSRequests`.
    public struct EBSRequests: Codable, Sendable, Hashable {
        public var requests: [EBSRequest]
        enum CodingKeys: String, CodingKey { case requests = "Requests" }
    }

    /// vm.go `InstanceHealthState`: Spinifex's own crash and QMP health bookkeeping.
    public struct Health: Codable, Sendable, Hashable {
        public var crashCount = 0
        public var lastCrashTime = "0001-01-01T00:00:00Z"
        public var lastCrashReason: String?
        public var restartCount = 0
        public var firstCrashTime = "0001-01-01T00:00:00Z"
        public var qmpConsecutiveFailures = 0
        public var lastQMPSuccess: String?
        public var impairedSince: String?

        enum CodingKeys: String, CodingKey {
            case crashCount = "crash_count"
            case lastCrashTime = "last_crash_time"
            case lastCrashReason = "last_crash_reason"
            case restartCount = "restart_count"
            case firstCrashTime = "first_crash_time"
            case qmpConsecutiveFailures = "qmp_consecutive_failures"
            case lastQMPSuccess = "last_qmp_success"
            case impairedSince = "impaired_since"
        }

        public init() {}
    }

    /// vm.go `ExtraENI`.
    public struct ExtraENI: Codable, Sendable, Hashable {
        public var eniID: String
        public var eniMAC: String
        public var eniIP: String

        enum CodingKeys: String, CodingKey {
            case eniID = "eni_id"
            case eniMAC = "eni_mac"
            case eniIP = "eni_ip"
        }

        public init(eniID: String, eniMAC: String, eniIP: String) {
            self.eniID = eniID
            self.eniMAC = eniMAC
            self.eniIP = eniIP
        }
    }

    /// vm.go `VM.Instance`: aws-sdk-go `ec2.Instance` (Go field names as JSON keys), the fields hive-health reads.
    public struct AWSInstance: Codable, Sendable, Hashable {
        public struct Placement: Codable, Sendable, Hashable {
            public var availabilityZone: String
            enum CodingKeys: String, CodingKey { case availabilityZone = "AvailabilityZone" }
        }

        public var instanceID: String
        /// RFC 3339.
        public var launchTime: String
        public var placement: Placement
        public var privateIPAddress: String?

        enum CodingKeys: String, CodingKey {
            case instanceID = "InstanceId"
            case launchTime = "LaunchTime"
            case placement = "Placement"
            case privateIPAddress = "PrivateIpAddress"
        }

        public init(instanceID: String, launchTime: String, availabilityZone: String, privateIPAddress: String? = nil) {
            self.instanceID = instanceID
            self.launchTime = launchTime
            self.placement = Placement(availabilityZone: availabilityZone)
            self.privateIPAddress = privateIPAddress
        }
    }

    public var id: String
    /// vm.go `InstanceState`: provisioning, pending, running, stopping, stopped, shutting-down, terminated, error.
    public var status: String
    public var instanceType: String
    public var config: Config
    public var ebsRequests: EBSRequests
    public var lastNode: String?
    public var health: Health
    public var accountID: String?
    public var eniID: String?
    public var eniMAC: String?
    public var extraENIs: [ExtraENI]?
    public var instance: AWSInstance?

    enum CodingKeys: String, CodingKey {
        case id, status, config, health, instance
        case instanceType = "instance_type"
        case ebsRequests = "ebs_requests"
        case lastNode = "last_node"
        case accountID = "account_id"
        case eniID = "eni_id"
        case eniMAC = "eni_mac"
        case extraENIs = "extra_enis"
    }

    public init(
        id: String, status: String = "running", accountID: String? = nil, runtimeDirectory: String = "/run/spinifex",
        volumes: [EBSRequest] = [], eniID: String? = nil, eniMAC: String? = nil, extraENIs: [ExtraENI]? = nil
    ) {
        self.id = id
        self.status = status
        self.instanceType = "t3.micro"
        self.config = Config(
            name: id, pidFile: "\(runtimeDirectory)/\(id).pid", qmpSocket: "\(runtimeDirectory)/qmp-\(id).sock",
            telemetryQMPSocket: "\(runtimeDirectory)/qmp-telemetry-\(id).sock",
            consoleLogPath: "\(runtimeDirectory)/console-\(id).log",
            serialSocket: "\(runtimeDirectory)/serial-\(id).sock")
        self.ebsRequests = EBSRequests(requests: volumes)
        self.health = Health()
        self.accountID = accountID
        self.eniID = eniID
        self.eniMAC = eniMAC
        self.extraENIs = extraENIs
    }

    /// Go's `encoding/json` output for this record (keys sorted for stable bytes).
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return Array(try encoder.encode(self))
    }
}
