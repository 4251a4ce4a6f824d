// Which swap area the next slot comes from: the highest priority with room;
// among areas of that priority, the first after the one used last (in type
// order, wrapping), so that equal areas take turns slot by slot and swap is
// striped over them. Linux: get_swap_pages() over swap_avail_heads, a plist
// by priority whose equal-priority entries plist_requeue() rotates

public enum SwapPriority {
    /// One candidate area.
    public struct Candidate: Equatable, Sendable {
        public var type: Int
        public var priority: Int
        /// It takes new pages and has a free slot.
        public var hasRoom: Bool

        public init(type: Int, priority: Int, hasRoom: Bool) {
            self.type = type
            self.priority = priority
            self.hasRoom = hasRoom
        }
    }

    /// The type to allocate from, nil if no area has room. `lastType` is the
    /// type that gave the previous slot (-1 at first). Any sequence, so the
    /// reclaim path can pass a lazy one and allocate nothing.
    public static func choose<S: Sequence>(_ areas: S, after lastType: Int) -> Int? where S.Element == Candidate {
        var best: Candidate? = nil
        // How far after `lastType` a type comes in the rotation (itself last).
        func distance(_ type: Int) -> Int { type > lastType ? type - lastType : type - lastType + Int.max / 2 }
        for area in areas where area.hasRoom {
            guard let chosen = best else { best = area; continue }
            if area.priority > chosen.priority
                || area.priority == chosen.priority && distance(area.type) < distance(chosen.type) {
                best = area
            }
        }
        return best?.type
    }
}
