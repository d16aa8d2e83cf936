import Foundation
import Testing

@Suite("docs/probe-authoring.md shows the site probe the build compiles")
struct ProbeAuthoringGuideTests {
    static let root = URL(filePath: #filePath).deletingLastPathComponent().appending(path: "../..")
        .standardizedFileURL

    @Test("the guide's Swift block is byte-identical to Sources/SiteProbes/SiteExampleProbe.swift")
    func guideMatchesSource() throws {
        let guide = try String(contentsOf: Self.root.appending(path: "docs/probe-authoring.md"), encoding: .utf8)
        let source = try String(
            contentsOf: Self.root.appending(path: "Sources/SiteProbes/SiteExampleProbe.swift"), encoding: .utf8)
        let opening = "```swift\n"
        let start = try #require(guide.range(of: opening), "no Swift block in the guide")
        let end = try #require(guide.range(of: "\n```", range: start.upperBound..<guide.endIndex))
        let block = String(guide[start.upperBound..<end.lowerBound]) + "\n"
        #expect(block == source, "copy Sources/SiteProbes/SiteExampleProbe.swift into the guide's first Swift block")
    }
}
