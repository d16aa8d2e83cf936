import HealthCore

/// A JSON value received from QEMU or its guest agent: HealthCore's ``JSONValue``, parsed with its bounds (a line
/// nested deeper than 64 levels is refused as hostile).
public typealias QMPValue = JSONValue
