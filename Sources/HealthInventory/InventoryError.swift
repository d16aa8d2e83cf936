import HealthCore

/// Why an inventory source, or an inventory specification, could not be used at all.
public typealias InventoryError = CodedError<InventoryErrors>

/// The domain of ``InventoryError``.
public enum InventoryErrors: ErrorDomain {}

extension CodedError.Code where Domain == InventoryErrors {
    /// The file could not be opened or read.
    public static var unreadable: Self { Self("unreadable") }
    /// The file is larger than the source accepts.
    public static var tooLarge: Self { Self("too large") }
    /// The document is not JSON, or its top level (or `vms`) is not an object.
    public static var invalidDocument: Self { Self("invalid document") }
    /// An `--inventory` / `[health.inventory] source` value that names no source.
    public static var invalidSpec: Self { Self("invalid inventory specification") }
}
