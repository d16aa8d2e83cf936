extension InstanceInfo {
    /// A secondary ENI (spinifex/vm/vm.go `ExtraENI`: `eni_id`, `eni_mac`, `eni_ip`).
    public struct ExtraENI: Sendable, Hashable, Codable {
        public var eniID: String
        public var eniMAC: String?
        public var eniIP: String?

        public init(eniID: String, eniMAC: String? = nil, eniIP: String? = nil) {
            self.eniID = eniID
            self.eniMAC = eniMAC
            self.eniIP = eniIP
        }

        /// Its tap (spinifex/vm/network_helpers.go `TapDeviceName`): `tap` + the id without `eni-`, 15 characters.
        public var tapDevice: String { InstanceInfo.tapDevice(eni: eniID) }
    }
}
