import Foundation

extension InstanceInfo {
    /// Spinifex's `health` block of a VM record (spinifex/vm/vm.go `InstanceHealthState` at ddf22cac): its daemon's
    /// QMP polling of the control monitor and its crash bookkeeping. Go's zero time (year 1) is nil here.
    public struct HiveVMHealth: Sendable, Hashable, Codable {
        public var qmpConsecutiveFailures: Int
        public var lastQMPSuccess: Date?
        /// Set by Spinifex when the QMP failures reach its limit; cleared by a successful poll.
        public var impairedSince: Date?
        public var crashCount: Int
        public var lastCrashTime: Date?
        public var lastCrashReason: String?
        public var restartCount: Int

        public init(
            qmpConsecutiveFailures: Int = 0, lastQMPSuccess: Date? = nil, impairedSince: Date? = nil,
            crashCount: Int = 0, lastCrashTime: Date? = nil, lastCrashReason: String? = nil, restartCount: Int = 0
        ) {
            self.qmpConsecutiveFailures = qmpConsecutiveFailures
            self.lastQMPSuccess = lastQMPSuccess
            self.impairedSince = impairedSince
            self.crashCount = crashCount
            self.lastCrashTime = lastCrashTime
            self.lastCrashReason = lastCrashReason
            self.restartCount = restartCount
        }
    }
}
