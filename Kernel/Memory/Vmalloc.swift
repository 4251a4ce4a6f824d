enum Vmalloc {
    static func isStackAddress(_ address: UInt64) -> Bool { false }
    static func isStackGuard(_ address: UInt64) -> Bool { false }
}
