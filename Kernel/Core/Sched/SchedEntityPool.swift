// Run queues never own entities: they read and relink them in a table the
// kernel owns (its task table). This protocol is that table's seam; the kernel's
// fixed array of entities conforms through the buffer-pointer conformance below.

/// Storage for scheduling entities, addressed by `EntityIndex`.
public protocol SchedEntityPool {
    subscript(entity index: EntityIndex) -> SchedEntity { get set }
}

extension UnsafeMutableBufferPointer: SchedEntityPool where Element == SchedEntity {
    @inlinable public subscript(entity index: EntityIndex) -> SchedEntity {
        get { self[Int(index)] }
        nonmutating set { self[Int(index)] = newValue }
    }
}
