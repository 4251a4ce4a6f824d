// A hash table from keys to values, for the kernel's lookup tables (PIDs,
// mapped files, shared-memory objects, hard links while unpacking the initramfs).
//
// Why not Swift's Dictionary: it sizes its table with Double arithmetic
// (maximum load factor 0.75, rounded up), and the kernel is compiled without
// SSE or x87 so that no kernel entry has to save the user's floating-point
// registers (Linux builds with -mno-sse for the same reason; docs/ARCHITECTURE.md
// "Floating point"). This table does the same job with integers only.
//
// The algorithm is open addressing with linear probing:
//   - the table has a power-of-two number of slots; a key's home slot is its
//     hash masked to that size, and a lookup walks forward from the home slot
//     until it finds the key or an empty slot;
//   - the table doubles when it would be more than 3/4 full, so a walk is short;
//   - removal uses backward shift (Knuth's Algorithm R) instead of tombstones:
//     the entries after the hole that could live in it move back, so no walk
//     ever crosses a deleted slot and the table never needs cleaning.
// Linux's fixed-size equivalent is include/linux/hashtable.h (chained buckets);
// rhashtable is the resizing one.

/// Linux: DECLARE_HASHTABLE / rhashtable
public struct HashMap<Key: Hashable, Value> {
    private struct Entry {
        let key: Key
        var value: Value
    }

    /// nil is an empty slot. The count is a power of two (or zero before the
    /// first insert).
    private var slots: [Entry?] = []
    public private(set) var count = 0

    public init() {}

    public var isEmpty: Bool { count == 0 }

    private var mask: Int { slots.count - 1 }

    private func home(of key: Key) -> Int { key.hashValue & mask }

    /// The slot holding `key`, or nil.
    private func find(_ key: Key) -> Int? {
        guard !slots.isEmpty else { return nil }
        var i = home(of: key)
        while let entry = slots[i] {
            if entry.key == key { return i }
            i = (i + 1) & mask
        }
        return nil
    }

    public subscript(key: Key) -> Value? {
        get { find(key).map { slots[$0]!.value } }
        set {
            if let newValue { updateValue(newValue, forKey: key) } else { removeValue(forKey: key) }
        }
    }

    /// Inserts or replaces; returns the old value.
    @discardableResult
    public mutating func updateValue(_ value: Value, forKey key: Key) -> Value? {
        if let i = find(key) {
            let old = slots[i]!.value
            slots[i]!.value = value
            return old
        }
        // Grow before the table passes 3/4 full (integer form of the load factor).
        if (count + 1) * 4 > slots.count * 3 { resize(to: Swift.max(8, slots.count * 2)) }
        var i = home(of: key)
        while slots[i] != nil { i = (i + 1) & mask }
        slots[i] = Entry(key: key, value: value)
        count += 1
        return nil
    }

    @discardableResult
    public mutating func removeValue(forKey key: Key) -> Value? {
        guard var hole = find(key) else { return nil }
        let old = slots[hole]!.value
        slots[hole] = nil
        count -= 1
        // Backward shift: walk the run after the hole; an entry whose home is
        // not cyclically in (hole, i] would be unreachable past the hole, so it
        // moves into it and its old slot becomes the hole.
        var i = (hole + 1) & mask
        while let entry = slots[i] {
            let h = home(of: entry.key)
            let reachable = hole <= i ? (hole < h && h <= i) : (hole < h || h <= i)
            if !reachable {
                slots[hole] = entry
                slots[i] = nil
                hole = i
            }
            i = (i + 1) & mask
        }
        return old
    }

    public mutating func removeAll() {
        slots = []
        count = 0
    }

    private mutating func resize(to size: Int) {
        let old = slots
        slots = [Entry?](repeating: nil, count: size)
        for case let entry? in old {
            var i = home(of: entry.key)
            while slots[i] != nil { i = (i + 1) & mask }
            slots[i] = entry
        }
    }

    /// Every value, in table order.
    public var values: [Value] { slots.compactMap { $0?.value } }

    /// Every entry, in table order.
    public var keyValuePairs: [(key: Key, value: Value)] {
        slots.compactMap { entry in entry.map { ($0.key, $0.value) } }
    }
}
