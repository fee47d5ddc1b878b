extension Duration {
    /// Whole seconds, rounded down; for log lines and configuration dumps.
    public var wholeSeconds: Int64 { components.seconds }
}
