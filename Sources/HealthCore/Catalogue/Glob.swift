/// Shell-style wildcard matching with `*` (any run, also empty) and `?` (one character), as AWS filters
/// and checks.d overlays use them. Iterative, so a hostile pattern cannot blow the stack or take exponential time.
public enum Glob {
    public static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.unicodeScalars)
        let t = Array(text.unicodeScalars)
        var pi = 0, ti = 0
        var starPattern = -1, starText = 0
        while ti < t.count {
            if pi < p.count, p[pi] == "?" || p[pi] == t[ti], p[pi] != "*" {
                pi += 1
                ti += 1
            } else if pi < p.count, p[pi] == "*" {
                starPattern = pi
                starText = ti
                pi += 1
            } else if starPattern >= 0 {
                pi = starPattern + 1
                starText += 1
                ti = starText
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }

    /// True when `text` has a wildcard character.
    public static func isPattern(_ text: String) -> Bool { text.contains("*") || text.contains("?") }
}
