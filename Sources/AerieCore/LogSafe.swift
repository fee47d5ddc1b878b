/// Makes client-chosen text safe inside a log line: no control characters, no `>` to close the field early.
public enum LogSafe {
    public static func userName(_ name: String) -> String {
        let cleaned = name.unicodeScalars.prefix(100).map { scalar -> Character in
            if scalar.value < 0x20 || scalar.value == 0x7F || scalar == ">" || scalar == "<" { return "?" }
            return Character(scalar)
        }
        return String(cleaned)
    }
}
