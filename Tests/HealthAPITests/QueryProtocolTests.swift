import Foundation
import HealthAPI
import HealthCore
import Logging
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// The query parser, DescribeInstanceStatus' selection and pagination, and the XML, without HTTP.
@Suite struct QueryProtocolTests {
    let views = Fleet.views(200)

    func page(_ query: String) throws(EC2Error) -> InstanceStatusPage {
        let request = try DescribeInstanceStatusRequest(parameters: try QueryParameters.parse(query))
        return try DescribeInstanceStatus.page(request, instances: views)
    }

    func code(_ query: String) -> String? {
        do {
            _ = try page(query)
            return nil
        } catch {
            return error.code.rawValue
        }
    }

    @Test func parsesFormEncoding() throws {
        let p = try QueryParameters.parse("Action=Describe%20It&Filter.1.Value.1=a+b&Empty=&Flag")
        #expect(p["Action"] == "Describe It")
        #expect(p["Filter.1.Value.1"] == "a b")
        #expect(p["Empty"] == "")
        #expect(p["Flag"] == "")
        #expect(throws: EC2Error.self) { try QueryParameters.parse("A=%zz") }
        #expect(throws: EC2Error.self) { try QueryParameters.parse("A=%ff%fe") }
    }

    @Test func listsAreOrderedByIndex() throws {
        let p = try QueryParameters.parse("InstanceId.10=c&InstanceId.2=b&InstanceId.1=a")
        #expect(p.list("InstanceId") == ["a", "b", "c"])
    }

    @Test func paginatesInIDOrderAndSurvivesChanges() throws {
        var seen: [String] = []
        var token: String?
        var pages = 0
        repeat {
            let query = "IncludeAllInstances=true&MaxResults=7" + (token.map { "&NextToken=\($0)" } ?? "")
            let result = try page(query)
            seen += result.items.map(\.instanceID)
            token = result.nextToken
            pages += 1
        } while token != nil && pages < 100
        #expect(seen == views.map(\.instanceID))
        // A token stays right when the instance it names is gone: the next page starts after it.
        let first = try page("IncludeAllInstances=true&MaxResults=5")
        let shrunk = views.filter { $0.instanceID != first.items.last!.instanceID }
        let request = try DescribeInstanceStatusRequest(
            parameters: try QueryParameters.parse("IncludeAllInstances=true&MaxResults=5&NextToken=\(first.nextToken!)")
        )
        let next = try DescribeInstanceStatus.page(request, instances: shrunk)
        #expect(next.items.first?.instanceID == views[5].instanceID)
    }

    @Test func validatesLikeAWS() {
        #expect(code("MaxResults=4") == "InvalidParameterValue")
        #expect(code("MaxResults=abc") == "InvalidParameterValue")
        #expect(code("InstanceId.1=\(Fleet.id(2))&MaxResults=5") == "InvalidParameterCombination")
        #expect(code("InstanceId.1=vol-1") == "InvalidInstanceID.Malformed")
        #expect(code("InstanceId.1=i-0123456789abcdef9") == "InvalidInstanceID.NotFound")
        #expect(code("Filter.1.Name=bogus&Filter.1.Value.1=x") == "InvalidParameterValue")
        #expect(code("Filter.1.Value.1=x") == "MissingParameter")
        #expect(code("NextToken=nope") == "InvalidParameterValue")
        #expect(code("IncludeAllInstances=yes") == "InvalidParameterValue")
        #expect(code("IncludeAllInstances=true") == nil)
    }

    @Test func filtersWithWildcards() throws {
        let impairedB = try page(
            "IncludeAllInstances=true&Filter.1.Name=availability-zone&Filter.1.Value.1=*-1b"
                + "&Filter.2.Name=system-status.status&Filter.2.Value.1=imp?ired")
        #expect(!impairedB.items.isEmpty)
        #expect(
            impairedB.items.allSatisfy {
                $0.health.availabilityZone == "us-east-1b" && $0.health.system.status == .impaired
            })
        let stopped = try page("IncludeAllInstances=true&Filter.1.Name=instance-state-code&Filter.1.Value.1=80")
        #expect(stopped.items.count == views.filter { $0.health.state == .stopped }.count)
        let events = try page("Filter.1.Name=event.code&Filter.1.Value.1=system-*")
        #expect(events.items.count == views.filter { !$0.events.isEmpty && $0.health.state == .running }.count)
    }

    @Test("rendered items are reused while a view is unchanged and rendered again when it moves")
    func renderedItemsFollowChanges() throws {
        let views = Fleet.views(40)
        var all = DescribeInstanceStatusRequest()
        all.includeAllInstances = true
        func whole(_ views: [InstanceStatusView]) throws -> InstanceStatusPage {
            try DescribeInstanceStatus.page(all, instances: views)
        }
        let page = try whole(views)
        #expect(page.items.count == 40)
        let items = RenderedItems()
        let plain = DescribeInstanceStatus.xml(page, requestID: "r-1")
        #expect(DescribeInstanceStatus.xml(page, requestID: "r-1", items: items) == plain)
        #expect(items.count == 40)
        #expect(DescribeInstanceStatus.xml(page, requestID: "r-1", items: items) == plain, "from the kept items")
        // One instance turns impaired: its item is rendered again, the others are kept.
        var moved = views
        moved[3].health.instance = CategoryStatus(status: .impaired, impairedSince: Fleet.impairedSince)
        let changed = try whole(moved)
        let fresh = DescribeInstanceStatus.xml(changed, requestID: "r-2")
        #expect(fresh != DescribeInstanceStatus.xml(page, requestID: "r-2"))
        #expect(DescribeInstanceStatus.xml(changed, requestID: "r-2", items: items) == fresh)
        // Markup in a value is escaped on both paths.
        moved[5].health.availabilityZone = "zone<&>\u{1}"
        let escaped = try whole(moved)
        let text = DescribeInstanceStatus.xml(escaped, requestID: "r-3", items: items)
        #expect(text == DescribeInstanceStatus.xml(escaped, requestID: "r-3"))
        #expect(text.contains("<availabilityZone>zone&lt;&amp;&gt;\u{FFFD}</availabilityZone>"))
        // A full cache starts again empty rather than growing.
        let small = RenderedItems(capacity: 10)
        _ = DescribeInstanceStatus.xml(page, requestID: "r-4", items: small)
        #expect(small.count <= 10)
    }

    @Test func rendersNamespacedXMLWithThreeCategories() throws {
        let xml = DescribeInstanceStatus.xml(try page("InstanceId.1=\(Fleet.id(14))"), requestID: "r-1")
        #expect(xml.contains("<DescribeInstanceStatusResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"))
        #expect(xml.contains("<requestId>r-1</requestId>"))
        #expect(
            xml.contains(
                "<systemStatus><status>impaired</status><details><item><name>reachability</name>"
                    + "<status>failed</status><impairedSince>"))
        #expect(xml.contains("<instanceStatus>"))
        #expect(xml.contains("<attachedEbsStatus>"))
        #expect(isWellFormed(xml))
    }

    @Test func errorXMLIsAWSShaped() {
        let xml = EC2Error(.invalidAction, "bad <&> \u{1}").xml(requestID: "r-2")
        #expect(xml.contains("<Response><Errors><Error><Code>InvalidAction</Code><Message>bad &lt;&amp;&gt; \u{FFFD}"))
        #expect(xml.contains("<RequestID>r-2</RequestID>"))
        #expect(isWellFormed(xml))
    }
}

func isWellFormed(_ xml: String) -> Bool {
    XMLParser(data: Data(xml.utf8)).parse()
}
