import HealthCore
import HealthProbes
import Testing

@Suite("host.thermal")
struct ThermalProbeTests {
    static func zone(
        _ tree: FixtureTree, _ index: Int, millidegrees: String, trips: [(Int, String)] = [(95000, "critical")]
    ) throws {
        let directory = "sys/class/thermal/thermal_zone\(index)"
        try tree.write("\(directory)/temp", millidegrees + "\n")
        try tree.write("\(directory)/type", "x86_pkg_temp\n")
        for (number, trip) in trips.enumerated() {
            try tree.write("\(directory)/trip_point_\(number)_temp", "\(trip.0)\n")
            try tree.write("\(directory)/trip_point_\(number)_type", "\(trip.1)\n")
        }
    }

    static func throttle(_ tree: FixtureTree, cpu: Int, core: Int, package: Int) throws {
        let directory = "sys/devices/system/cpu/cpu\(cpu)/thermal_throttle"
        try tree.write("\(directory)/core_throttle_count", "\(core)\n")
        try tree.write("\(directory)/package_throttle_count", "\(package)\n")
    }

    @Test("no zones and no counters pass with 'no thermal sensors exposed', or are unknown with require_sensors")
    func noSensors() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try tree.write("sys/class/thermal/cooling_device0/type", "Processor\n")
        let probe = ThermalProbe(environment: tree.environment)
        let observation = await probe.observe(makeRequest())
        #expect(observation.outcome == .passed)
        #expect(observation.message == "no thermal sensors exposed")
        let required = await probe.observe(makeRequest(["require_sensors": .boolean(true)]))
        #expect(required.outcome == .unknown)
    }

    @Test("zones below their trip points pass, with per-zone and max temperatures")
    func belowTrips() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try Self.zone(tree, 0, millidegrees: "45000", trips: [(80000, "hot"), (95000, "critical")])
        try Self.zone(tree, 1, millidegrees: "52500")
        let observation = await ThermalProbe(environment: tree.environment).observe(makeRequest())
        #expect(observation.outcome == .passed)
        #expect(observation.values["thermal_zone0_celsius"] == 45)
        #expect(observation.values["thermal_zone1_celsius"] == 52.5)
        #expect(observation.values["max_celsius"] == 52.5)
    }

    @Test("a zone at its critical or hot trip point fails; passive trips do not count")
    func atTrip() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try Self.zone(tree, 0, millidegrees: "85000", trips: [(70000, "passive"), (85000, "hot")])
        let observation = await ThermalProbe(environment: tree.environment).observe(makeRequest())
        #expect(observation.outcome == .failed)
        #expect(observation.message.contains("thermal_zone0"))
        #expect(observation.message.contains("hot"))

        let passiveOnly = try FixtureTree()
        defer { passiveOnly.remove() }
        try Self.zone(passiveOnly, 0, millidegrees: "75000", trips: [(70000, "passive")])
        #expect(await ThermalProbe(environment: passiveOnly.environment).observe(makeRequest()).outcome == .passed)
    }

    @Test("max_celsius fails a zone below its trip points")
    func maxCelsius() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try Self.zone(tree, 0, millidegrees: "71000")
        let observation = await ThermalProbe(environment: tree.environment).observe(
            makeRequest(["max_celsius": .number(70)]))
        #expect(observation.outcome == .failed)
        #expect(observation.message.contains("max_celsius"))
    }

    @Test("throttle counters: the first run records, growth above max_throttle_events fails")
    func throttling() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try Self.throttle(tree, cpu: 0, core: 10, package: 5)
        try Self.throttle(tree, cpu: 1, core: 3, package: 5)
        let probe = ThermalProbe(environment: tree.environment)
        let request = makeRequest(["max_throttle_events": .integer(10)])
        let first = await probe.observe(request)
        #expect(first.outcome == .passed)
        #expect(first.values["throttle_events"] == nil)

        try Self.throttle(tree, cpu: 0, core: 15, package: 7)
        let second = await probe.observe(request)
        #expect(second.outcome == .passed)
        #expect(second.values["throttle_events"] == 7)

        try Self.throttle(tree, cpu: 1, core: 20, package: 7)
        let third = await probe.observe(request)
        #expect(third.outcome == .failed)
        #expect(third.values["throttle_events"] == 19)
        #expect(third.message.contains("throttl"))

        // Another check on the same node has its own memory: its first run only records.
        let other = await probe.observe(makeRequest(check: "other", ["max_throttle_events": .integer(10)]))
        #expect(other.outcome == .passed)
    }

    @Test("a zone with garbage in temp and nothing else readable is unknown naming the file")
    func garbageTemperature() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        try Self.zone(tree, 0, millidegrees: "hot!")
        let observation = await ThermalProbe(environment: tree.environment).observe(makeRequest())
        #expect(observation.outcome == .unknown)
        #expect(observation.message.contains("thermal_zone0/temp"))
    }

    @Test("bad parameters are unknown")
    func badParameter() async throws {
        let tree = try FixtureTree()
        defer { tree.remove() }
        let observation = await ThermalProbe(environment: tree.environment).observe(
            makeRequest(["require_sensors": .string("yes")]))
        #expect(observation.outcome == .unknown)
        #expect(observation.message.contains("require_sensors"))
    }

    @Test("reads the real /sys of this machine without a parse error")
    func realHost() async throws {
        let probe = ThermalProbe(environment: ProbeEnvironment(hostRoot: "/"))
        let first = await probe.observe(makeRequest())
        #expect(first.outcome != .unknown, "\(first.message)")
        let second = await probe.observe(makeRequest())
        #expect(second.outcome != .unknown, "\(second.message)")
    }
}
