import HealthCore

/// Why the file state store could not load or save.
public typealias StateStoreError = CodedError<StateStoreErrors>

/// The domain of ``StateStoreError``.
public enum StateStoreErrors: ErrorDomain {}

extension CodedError.Code where Domain == StateStoreErrors {
    /// Creating, writing, syncing or renaming failed.
    public static var io: Self { Self("i/o error") }
    /// The state file is larger than the store accepts.
    public static var tooLarge: Self { Self("too large") }
    /// The state file could not be decoded.
    public static var corrupt: Self { Self("corrupt") }
}
