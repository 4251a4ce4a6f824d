// When WRR placement and balancing may move a task to another NUMA node.
//
// Within a node every CPU is as good as another for a task's memory, so the
// ordinary rules apply: placement takes the lightest CPU, the balancer any move
// that narrows the gap, an idle CPU any waiting task. A move to another node
// costs more than the move: the task's pages stay on the node it came from
// (Keel has no automatic NUMA balancing to bring them after it), so from then
// on every access it makes is remote. Such a move must therefore settle
// something, not start a task hopping between nodes.
//
// The rule: a task of weight w may go from a CPU whose total WRR weight is H
// (the task counted) to a CPU of another node whose total is L when
//   (a) H − L ≥ 2w: the heavy side's surplus over the pair's mean, (H − L) / 2
//       (the imbalance as Linux's calculate_imbalance() computes it), is at
//       least one task's weight, the weight of the task that moves; or
//   (b) L = 0 and H > w: the destination has no WRR work and the task leaves
//       weight behind (it was sharing its CPU).
// Why that threshold:
// - Under (a) the move never reverses the imbalance: afterwards H − w ≥ L + w,
//   so the task's new CPU is no heavier than its old one and no later pass has
//   a reason to send it (or another task) back. Any narrowing move (w < H − L,
//   the rule within a node) would also allow moves that overshoot, after which
//   the balancer may move a task back, and each such hop across nodes leaves
//   its memory further behind; within a node hopping is harmless.
// - Under (b) the task runs at once, alone, on a CPU that was doing nothing:
//   no queue holds it waiting, so nothing can pull it back, and an idle CPU
//   next to a shared one is the waste balancing exists to remove (Linux too
//   moves work off an overloaded node to an idle one whatever the distance).
//   Without (b), a weight-5 task running with a weight-10 task waiting behind
//   it (H = 15 < 2 × 10) would keep the other node idle indefinitely.
// - A lone task never crosses (H = w): it already has a CPU to itself.
// - It is measured in the weight of the task that moves, not a fixed amount,
//   because in WRR a task's weight is exactly the CPU time it adds to a queue:
//   a light task crosses for a small imbalance, a heavy one only for a large one.
// Placement applies the same rule to the machine as it would be after placing
// the task at home (H = the home node's lightest CPU + w): it crosses exactly
// when the balancer would move the task away at its next pass, so placement
// never does what balancing would undo, nor leaves what balancing would do.
//
// Linux: the NUMA sched-domain levels (SD_NUMA) with their larger imbalance
// allowance (sd->imbalance_pct, adjust_numa_imbalance()), task_numa_migrate()

/// The cross-node rule of WRR placement and balancing (see above).
public enum NodeBalance {
    /// Whether a task of weight `weight` may move from a CPU of total WRR
    /// weight `heavier` (the task counted) to a CPU of another node of total
    /// WRR weight `lighter` (the task not counted).
    public static func mayCross(heavier: Int, lighter: Int, weight: Int) -> Bool {
        heavier - lighter >= 2 * weight || (lighter == 0 && heavier > weight)
    }
}
