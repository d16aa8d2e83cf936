import Foundation
import HealthCore
import Synchronization

/// DescribeInstanceStatus: the request's parameters, validated as AWS validates them.
public struct DescribeInstanceStatusRequest: Sendable, Hashable {
    public static let maxInstanceIDs = 100
    public static let maxResultsRange = 5...1000
    public static let maxFilters = 50
    public static let maxFilterValues = 200

    public var instanceIDs: [String] = []
    /// Stopped, pending... instances too (default: running only).
    public var includeAllInstances = false
    public var maxResults: Int?
    public var nextToken: String?
    public var dryRun = false
    /// `IncludeManagedResources`: instances managed by a service provider too. None is here; accepted and kept.
    public var includeManagedResources = false
    public var filters: [StatusFilter] = []

    public init() {}

    /// Validates `InstanceId.N`, `IncludeAllInstances`, `IncludeManagedResources`, `MaxResults`, `NextToken`, `DryRun`
    /// and `Filter.N`.
    public init(parameters p: QueryParameters) throws(EC2Error) {
        instanceIDs = p.list("InstanceId")
        guard instanceIDs.count <= Self.maxInstanceIDs else {
            throw EC2Error(
                .invalidParameterValue,
                "The request may name at most \(Self.maxInstanceIDs) instance IDs, not \(instanceIDs.count).")
        }
        for id in instanceIDs where !InstanceID.isWellFormed(id) {
            throw EC2Error(.invalidInstanceIDMalformed, "Invalid id: \"\(id)\"")
        }
        includeAllInstances = try Self.bool(p, "IncludeAllInstances") ?? false
        dryRun = try Self.bool(p, "DryRun") ?? false
        includeManagedResources = try Self.bool(p, "IncludeManagedResources") ?? false
        if let text = p["MaxResults"] {
            guard let value = Int(text), Self.maxResultsRange.contains(value) else {
                throw EC2Error(
                    .invalidParameterValue,
                    "Value ( \(text) ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.")
            }
            guard instanceIDs.isEmpty else {
                throw EC2Error(
                    .invalidParameterCombination,
                    "The parameter instancesSet cannot be used with the parameter maxResults")
            }
            maxResults = value
        }
        if let token = p["NextToken"], !token.isEmpty {
            _ = try PageToken.decode(token)
            nextToken = token
        }
        filters = try Self.filters(p)
    }

    static func bool(_ p: QueryParameters, _ key: String) throws(EC2Error) -> Bool? {
        guard let text = p[key] else { return nil }
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default: throw EC2Error(.invalidParameterValue, "Invalid value '\(text)' for \(key): expecting true or false.")
        }
    }

    static func filters(_ p: QueryParameters) throws(EC2Error) -> [StatusFilter] {
        var indices = Set<Int>()
        for key in p.values.keys where key.hasPrefix("Filter.") {
            let parts = key.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count >= 3, let index = Int(parts[1]), index >= 1 else {
                throw EC2Error(.invalidParameterValue, "The parameter \(key) is not recognized.")
            }
            indices.insert(index)
        }
        guard indices.count <= maxFilters else {
            throw EC2Error(.invalidParameterValue, "The request may have at most \(maxFilters) filters.")
        }
        var filters: [StatusFilter] = []
        for index in indices.sorted() {
            guard let nameText = p["Filter.\(index).Name"] else {
                throw EC2Error(.missingParameter, "The request must contain the parameter Filter.\(index).Name")
            }
            guard let name = StatusFilter.Name(rawValue: nameText) else {
                throw EC2Error(.invalidParameterValue, "The filter '\(nameText)' is invalid")
            }
            let values = p.list("Filter.\(index).Value")
            guard !values.isEmpty else {
                throw EC2Error(.invalidParameterValue, "The filter '\(nameText)' requires at least one value")
            }
            guard values.count <= maxFilterValues else {
                throw EC2Error(
                    .invalidParameterValue, "The filter '\(nameText)' has more than \(maxFilterValues) values")
            }
            filters.append(StatusFilter(name: name, values: values))
        }
        return filters
    }
}

/// One page of DescribeInstanceStatus.
public struct InstanceStatusPage: Sendable, Hashable {
    public var items: [InstanceStatusView]
    public var nextToken: String?
}

/// Instance ids as EC2 spells them: `i-` and 1 to 32 lowercase hex digits (AWS's own are 8 or 17 digits; Hive's are
/// hex of other lengths too).
public enum InstanceID {
    public static func isWellFormed(_ id: String) -> Bool {
        let utf8 = id.utf8
        guard utf8.count >= 3, utf8.count <= 34, id.hasPrefix("i-") else { return false }
        return utf8.dropFirst(2).allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}

/// The opaque `NextToken`: the last instance id returned (pages are sorted by id), so a page is still right when
/// instances come and go between requests.
public enum PageToken {
    static let prefix = "hh1."

    public static func encode(lastInstanceID: String) -> String {
        let base64 = Data(lastInstanceID.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return prefix + base64
    }

    public static func decode(_ token: String) throws(EC2Error) -> String {
        let invalid = EC2Error(.invalidParameterValue, "Invalid value for NextToken: the token is malformed")
        guard token.utf8.count <= 256, token.hasPrefix(prefix) else { throw invalid }
        var base64 = String(token.dropFirst(prefix.count))
            .replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.utf8.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let id = String(data: data, encoding: .utf8), !id.isEmpty
        else { throw invalid }
        return id
    }
}

/// DescribeInstanceStatus over a list of instances: pure, so it is tested without HTTP.
public enum DescribeInstanceStatus {
    /// - Parameter instances: sorted by instance id.
    public static func page(
        _ request: DescribeInstanceStatusRequest, instances: [InstanceStatusView]
    ) throws(EC2Error) -> InstanceStatusPage {
        var candidates = instances[...]
        if !request.instanceIDs.isEmpty {
            var selected: [InstanceStatusView] = []
            var missing: [String] = []
            for id in Set(request.instanceIDs).sorted() {
                if let found = find(id, in: instances) { selected.append(found) } else { missing.append(id) }
            }
            guard missing.isEmpty else {
                let list = missing.map { "'\($0)'" }.joined(separator: ", ")
                throw EC2Error(
                    .invalidInstanceIDNotFound,
                    missing.count == 1
                        ? "The instance ID \(list) does not exist" : "The instance IDs \(list) do not exist")
            }
            candidates = selected[...]
        }
        if let token = request.nextToken {
            let last = try PageToken.decode(token)
            candidates = candidates[firstIndex(after: last, in: candidates)...]
        }
        let limit = request.maxResults ?? Int.max
        var items: [InstanceStatusView] = []
        var nextToken: String?
        for view in candidates {
            guard request.includeAllInstances || view.health.state == .running else { continue }
            guard request.filters.allSatisfy({ $0.matches(view) }) else { continue }
            if items.count == limit {
                nextToken = items.last.map { PageToken.encode(lastInstanceID: $0.instanceID) }
                break
            }
            items.append(view)
        }
        return InstanceStatusPage(items: items, nextToken: nextToken)
    }

    static func find(_ id: String, in sorted: [InstanceStatusView]) -> InstanceStatusView? {
        let index = firstIndex(notBelow: id, in: sorted[...])
        return index < sorted.endIndex && sorted[index].instanceID == id ? sorted[index] : nil
    }

    /// The first index whose id is >= `id` (binary search).
    static func firstIndex(notBelow id: String, in sorted: ArraySlice<InstanceStatusView>) -> Int {
        var low = sorted.startIndex, high = sorted.endIndex
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid].instanceID < id { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The first index whose id is > `id`.
    static func firstIndex(after id: String, in sorted: ArraySlice<InstanceStatusView>) -> Int {
        let index = firstIndex(notBelow: id, in: sorted)
        return index < sorted.endIndex && sorted[index].instanceID == id ? index + 1 : index
    }

    /// The response document; with `items`, each instance's `<item>` is taken from there while its view is unchanged.
    public static func xml(_ page: InstanceStatusPage, requestID: String, items: RenderedItems? = nil) -> String {
        var w = XMLWriter()
        w.reserve(page.items.count * 1024 + 512)
        w.open("DescribeInstanceStatusResponse", namespace: EC2API.namespace)
        w.element("requestId", requestID)
        w.open("instanceStatusSet")
        for view in page.items {
            if let items { w.append(fragment: items.item(view)) } else { item(view, into: &w) }
        }
        w.close("instanceStatusSet")
        if let token = page.nextToken { w.element("nextToken", token) }
        w.close("DescribeInstanceStatusResponse")
        return w.text
    }

    static func item(_ view: InstanceStatusView, into w: inout XMLWriter) {
        let health = view.health
        w.open("item")
        w.element("instanceId", health.instanceID)
        w.element("availabilityZone", health.availabilityZone)
        if let zoneID = AvailabilityZoneID.of(health.availabilityZone) { w.element("availabilityZoneId", zoneID) }
        w.open("operator")
        w.element("managed", OperatorView.unmanaged.managed ? "true" : "false")
        if let principal = OperatorView.unmanaged.principal { w.element("principal", principal) }
        w.close("operator")
        w.open("instanceState")
        w.element("code", String(health.state.ec2Code))
        w.element("name", health.state.ec2Name)
        w.close("instanceState")
        category("systemStatus", health.system, into: &w)
        category("instanceStatus", health.instance, into: &w)
        category("attachedEbsStatus", health.ebs, into: &w)
        w.open("eventsSet")
        for event in view.events {
            w.open("item")
            w.element("instanceEventId", event.instanceEventID)
            w.element("code", event.code.rawValue)
            w.element("description", event.description)
            if let date = event.notBefore { w.element("notBefore", EC2Timestamp.format(date)) }
            if let date = event.notAfter { w.element("notAfter", EC2Timestamp.format(date)) }
            if let date = event.notBeforeDeadline { w.element("notBeforeDeadline", EC2Timestamp.format(date)) }
            w.close("item")
        }
        w.close("eventsSet")
        w.close("item")
    }

    static func category(_ name: String, _ category: CategoryStatus, into w: inout XMLWriter) {
        w.open(name)
        w.element("status", category.status.rawValue)
        w.open("details")
        if let reachability = category.reachability {
            w.open("item")
            w.element("name", "reachability")
            w.element("status", reachability.rawValue)
            if category.status == .impaired, let since = category.impairedSince {
                w.element("impairedSince", EC2Timestamp.format(since))
            }
            w.close("item")
        }
        w.close("details")
        w.close(name)
    }
}

/// Each instance's rendered `<item>` of DescribeInstanceStatus, reused while its view is unchanged: a page of 1,000
/// instances whose statuses did not move is 1,000 lookups and copies, not 1,000 renderings. At most `capacity`
/// instances are kept (about a kilobyte each); past it the cache starts again empty.
public final class RenderedItems: Sendable {
    private let rendered = Mutex<[String: (view: InstanceStatusView, bytes: [UInt8])]>([:])
    public let capacity: Int

    public init(capacity: Int = 20_000) { self.capacity = max(1, capacity) }

    /// The `<item>` of `view`, rendered now or earlier for an equal view.
    public func item(_ view: InstanceStatusView) -> [UInt8] {
        if let kept = rendered.withLock({ $0[view.instanceID] }), kept.view == view { return kept.bytes }
        var w = XMLWriter(prolog: false)
        DescribeInstanceStatus.item(view, into: &w)
        let bytes = w.bytes
        rendered.withLock { items in
            if items.count >= capacity, items[view.instanceID] == nil { items.removeAll(keepingCapacity: true) }
            items[view.instanceID] = (view, bytes)
        }
        return bytes
    }

    public var count: Int { rendered.withLock { $0.count } }
}
