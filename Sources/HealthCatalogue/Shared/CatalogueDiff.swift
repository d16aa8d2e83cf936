/// The difference between two catalogues, file by file, printed like `diff -u` (what `catalog diff` shows).
public struct CatalogueDiff: Sendable, Hashable {
    /// One file that is not the same on both sides.
    public struct FileChange: Sendable, Hashable {
        public enum Kind: String, Sendable, Hashable {
            case onlyInOld = "only-in-old"
            case onlyInNew = "only-in-new"
            case modified
        }

        public var name: String
        public var kind: Kind
        /// The unified listing of the change (`---`/`+++` header, `@@` hunks).
        public var listing: String
    }

    public var changes: [FileChange]

    public var isEmpty: Bool { changes.isEmpty }

    /// Compares `old` (labelled `oldLabel/<name>`) with `new` (`newLabel/<name>`).
    public init(old: CatalogueBundle, oldLabel: String, new: CatalogueBundle, newLabel: String) {
        var changes: [FileChange] = []
        for name in Set(old.files.keys).union(new.files.keys).sorted() {
            let before = old.files[name]
            let after = new.files[name]
            guard before != after else { continue }
            let kind: FileChange.Kind = before == nil ? .onlyInNew : (after == nil ? .onlyInOld : .modified)
            let header = "--- \(before == nil ? "/dev/null" : "\(oldLabel)/\(name)")\n"
                + "+++ \(after == nil ? "/dev/null" : "\(newLabel)/\(name)")\n"
            let listing = header + Self.hunks(Self.lines(before), Self.lines(after))
            changes.append(FileChange(name: name, kind: kind, listing: listing))
        }
        self.changes = changes
    }

    /// The whole listing.
    public var listing: String { changes.map(\.listing).joined() }

    private static func lines(_ text: String?) -> [Substring] {
        guard let text, !text.isEmpty else { return [] }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// Lines compared at most (each side): past it the listing only says the files differ.
    static let lineLimit = 4_000
    static let context = 3

    private enum Operation {
        case same(Int, Int)
        case removed(Int)
        case added(Int)
    }

    /// `@@ -a,b +c,d @@` hunks with three lines of context, from a longest-common-subsequence edit script.
    private static func hunks(_ old: [Substring], _ new: [Substring]) -> String {
        guard old.count <= lineLimit, new.count <= lineLimit else {
            return "@@ files differ (more than \(lineLimit) lines: no line listing) @@\n"
        }
        // lengths[i][j]: LCS length of old[i...] and new[j...], in one flat array.
        let width = new.count + 1
        var lengths = [Int32](repeating: 0, count: (old.count + 1) * width)
        for i in stride(from: old.count - 1, through: 0, by: -1) {
            for j in stride(from: new.count - 1, through: 0, by: -1) {
                lengths[i * width + j] = old[i] == new[j]
                    ? lengths[(i + 1) * width + j + 1] + 1
                    : max(lengths[(i + 1) * width + j], lengths[i * width + j + 1])
            }
        }
        var operations: [Operation] = []
        var (i, j) = (0, 0)
        while i < old.count || j < new.count {
            if i < old.count, j < new.count, old[i] == new[j] {
                operations.append(.same(i, j))
                i += 1
                j += 1
            } else if i < old.count, j == new.count || lengths[(i + 1) * width + j] >= lengths[i * width + j + 1] {
                operations.append(.removed(i))
                i += 1
            } else {
                operations.append(.added(j))
                j += 1
            }
        }
        // Group the changed operations (with their context) into hunks.
        var output = ""
        var index = 0
        while index < operations.count {
            guard let firstChange = operations[index...].firstIndex(where: {
                if case .same = $0 { return false } else { return true }
            }) else { break }
            let start = max(index, firstChange - context)
            var end = firstChange
            var sameRun = 0
            var cursor = firstChange
            while cursor < operations.count {
                if case .same = operations[cursor] {
                    sameRun += 1
                    if sameRun > 2 * context { break }
                } else {
                    sameRun = 0
                    end = cursor
                }
                cursor += 1
            }
            let stop = min(operations.count, end + context + 1)
            var (oldStart, newStart, oldCount, newCount) = (-1, -1, 0, 0)
            var body = ""
            for operation in operations[start..<stop] {
                switch operation {
                case .same(let a, let b):
                    if oldStart < 0 { oldStart = a }
                    if newStart < 0 { newStart = b }
                    oldCount += 1
                    newCount += 1
                    body += " \(old[a])\n"
                case .removed(let a):
                    if oldStart < 0 { oldStart = a }
                    oldCount += 1
                    body += "-\(old[a])\n"
                case .added(let b):
                    if newStart < 0 { newStart = b }
                    newCount += 1
                    body += "+\(new[b])\n"
                }
            }
            let oldLine = oldCount == 0 ? max(0, position(before: start, in: operations, old: true)) : oldStart + 1
            let newLine = newCount == 0 ? max(0, position(before: start, in: operations, old: false)) : newStart + 1
            output += "@@ -\(oldLine),\(oldCount) +\(newLine),\(newCount) @@\n" + body
            index = stop
        }
        return output
    }

    /// The 1-based line number of the last line of one side before operation `index` (0 when none): what `diff -u`
    /// prints as the start of an empty range.
    private static func position(before index: Int, in operations: [Operation], old: Bool) -> Int {
        var line = 0
        for operation in operations[..<index] {
            switch operation {
            case .same: line += 1
            case .removed: if old { line += 1 }
            case .added: if !old { line += 1 }
            }
        }
        return line
    }
}
