import Foundation
import HealthAPI
import HealthCore
import HealthTestKit
import Logging
import Synchronization
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The fleet page in headless Chromium (driven over the DevTools pipe by Clients/fleet_page_checks.py): rendered
/// from the binary alone, grouped, filtered, readable at desktop and phone widths (screenshots kept in the test's
/// output folder), and a status change pushed over server-sent events shows without a reload.
@Suite(.serialized) struct FleetPageTests {
    /// Screenshots stay here after the test (the rest of its folder is removed).
    static let outputDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("hive-health-fleet-page")
        .path

    static func view(_ index: Int, changed: Bool) -> InstanceStatusView {
        var view = Fleet.view(index)
        view.node = "node-\(index % 2 == 0 ? "a" : "b")"
        view.health.state = .running
        if index == 7 {
            view.health.system = CategoryStatus(
                status: .impaired, impairedSince: Fleet.impairedSince,
                checks: [
                    CheckStatus(
                        name: "qemu-process", probe: "qemu-process", target: Fleet.id(7), status: .failed,
                        message: "no QEMU process for this instance", observedAt: Fleet.impairedSince,
                        impairedSince: Fleet.impairedSince, flapping: false, values: [:])
                ])
        }
        if index == 3 {
            let status: SummaryStatus = changed ? .ok : .impaired
            let check = CheckStatus(
                name: "guest-ping", probe: "guest-ping", target: Fleet.id(3), status: changed ? .passed : .failed,
                message: changed ? "answers" : "no answer from the guest agent", observedAt: Fleet.impairedSince,
                impairedSince: changed ? nil : Fleet.impairedSince, flapping: false, values: [:])
            view.health.system = CategoryStatus(status: .ok)
            view.health.instance = CategoryStatus(
                status: status, impairedSince: changed ? nil : Fleet.impairedSince, checks: [check])
            view.health.ebs = CategoryStatus(status: .ok)
        }
        return view
    }

    @Test func fleetPageRendersFiltersAndFollowsTransitionsInChromium() async throws {
        let folder = try ShortTemporaryFolder(prefix: "hh-page")
        defer { folder.remove() }
        let changed = WaiterTests.Polls()
        let source = ClosureStatusSource { (0..<12).map { Self.view($0, changed: changed.count.withLock { $0 } > 0) } }
        let feed = FleetFeed()
        let handler = EC2QueryHandler(source: source, logger: Logger(label: "page-test"))
        let result = try await RunningAPI.with(handler: handler, feed: feed) { api in
            try await withThrowingTaskGroup(of: Tool.Result?.self) { group in
                group.addTask {
                    try await Tool.run(
                        "python3",
                        [
                            clientsDirectory + "/fleet_page_checks.py", api.endpoint, folder.path, Fleet.id(7),
                            Fleet.id(3), "node-b", "us-east-1c",
                        ],
                        environment: Tool.awsEnvironment(home: folder.path), log: folder.file("page.log"),
                        timeout: .seconds(170))
                }
                group.addTask {
                    // Once the page has been checked as it first rendered, the instance recovers and the daemon's
                    // transition goes out on the feed.
                    let ready = await eventually(timeout: .seconds(150), poll: .milliseconds(50)) {
                        FileManager.default.fileExists(atPath: folder.file("READY")) && feed.subscriberCount > 0
                    }
                    guard ready else { return nil }
                    changed.count.withLock { $0 = 1 }
                    feed.publish([
                        FleetFeed.Transition(
                            at: Date(), node: "node-b", instanceID: Fleet.id(3), category: "instance", check: nil,
                            from: "impaired", to: "ok", message: "guest-ping: answers")
                    ])
                    return nil
                }
                var output: Tool.Result?
                for try await value in group where value != nil { output = value }
                return output!
            }
        }
        try? FileManager.default.createDirectory(atPath: Self.outputDirectory, withIntermediateDirectories: true)
        for name in ["fleet-desktop.png", "fleet-phone.png", "fleet-phone-after.png", "fleet-desktop-after.png"] {
            let target = Self.outputDirectory + "/" + name
            try? FileManager.default.removeItem(atPath: target)
            try? FileManager.default.copyItem(atPath: folder.file(name), toPath: target)
            #expect(FileManager.default.fileExists(atPath: target), "\(name) was not taken: \(result.output)")
        }
        #expect(result.status == 0, "\(result.output)")
        let line = result.output.split(separator: "\n").last.map(String.init) ?? ""
        let seen = try JSONDecoder().decode(WireValue.self, from: Data(line.utf8))
        #expect(seen["rendered"] == .bool(true), "\(result.output)")
        #expect(seen["live"] == .bool(true))
        #expect(seen["instances"]?.number == 12)
        #expect(seen["groups"]?.list?.first?.string == "impaired", "worst first")
        #expect(seen["impaired_status"]?.string == "impaired")
        let text = seen["impaired_text"]?.string ?? ""
        #expect(text.contains("no QEMU process for this instance"), "\(text)")
        #expect(text.contains("impaired since 2026"), "\(text)")
        #expect(text.contains("node-b"), "\(text)")
        #expect(seen["external"]?.number == 0, "nothing loaded from outside the page")
        let impaired = (seen["status_filter"]?.list ?? []).compactMap(\.string)
        #expect(impaired.contains(Fleet.id(7)) && impaired.contains(Fleet.id(3)), "\(impaired)")
        #expect((seen["node_filter"]?.list ?? []).count == 6)
        #expect((seen["zone_filter"]?.list ?? []).count == 4)
        #expect(seen["search"]?.list?.compactMap(\.string) == [Fleet.id(3)])
        #expect(seen["desktop_fits"] == .bool(true))
        #expect(seen["phone_fits"] == .bool(true), "no horizontal scrolling on a phone")
        #expect(seen["before_change"]?.string == "impaired")
        #expect(seen["changed"] == .bool(true), "the change pushed over SSE shows")
        #expect(seen["transition_listed"] == .bool(true))
        #expect(seen["no_reload"] == .bool(true))
        #expect(seen["after_phone_fits"] == .bool(true))
    }

    @Test func apiClientsStillGetTheQueryAPIOnSlash() async throws {
        let handler = EC2QueryHandler(source: StaticStatusSource(Fleet.views(3)), logger: Logger(label: "page-test"))
        try await RunningAPI.with(handler: handler) { api in
            var page = URLRequest(url: URL(string: api.endpoint + "/")!)
            page.setValue("text/html,application/xhtml+xml", forHTTPHeaderField: "Accept")
            let (html, pageResponse) = try await URLSession.shared.data(for: page)
            #expect((pageResponse as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type")?.hasPrefix("text/html") == true)
            #expect(String(decoding: html, as: UTF8.self).contains("hive-health fleet"))
            var query = URLRequest(
                url: URL(string: api.endpoint + "/?Action=DescribeInstanceStatus&Version=2016-11-15")!)
            query.setValue("text/html", forHTTPHeaderField: "Accept")
            let (xml, _) = try await URLSession.shared.data(for: query)
            #expect(String(decoding: xml, as: UTF8.self).contains("DescribeInstanceStatusResponse"))
        }
    }
}
