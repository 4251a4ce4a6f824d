// When WRR placement and balancing may move a task to another NUMA node.
//
// Within a node every CPU is as good as another for a task's memory, so the
// ordinary rules apply: placement takes the lightest CPU, the balancer any move
// that narrows the gap, an idle CPU any task. A move to another node costs more
// than the move: the task's pages stay on the node it came from (Keel has no
// automatic NUMA balancing to bring them after it), so from then on every
// access it makes is remote. Such a move must therefore settle something.
//
// The rule: a task of weight w may go from a CPU whose total weight is H to a
// CPU of another node whose total is L only when H − L ≥ 2w. Said otherwise,
// the heavy side's surplus over the pair's mean, (H − L) / 2 (the imbalance
// Linux's calculate_imbalance() computes), is at least the weight of the task
// that moves. Why that threshold:
// - The move then never reverses the imbalance: afterwards H − w ≥ L + w, so
//   the task's new CPU is no heavier than its old one and no later balancing
//   pass has a reason to send it (or another task) back. A smaller threshold
//   (any narrowing move, w < H − L) lets a task hop between nodes and leave its
//   memory further behind at each hop; within a node that hopping is harmless.
// - It still moves the case that matters most: two equal tasks sharing a CPU
//   while a CPU of the other node idles (H = 2w, L = 0) gives each a CPU, as
//   Linux does. Requiring more (H − L > 2w, or a margin of a whole task on top)
//   would leave that CPU idle forever, since nothing else would change.
// - It is measured in the weight of the task that moves, not a fixed amount,
//   because in WRR a task's weight is exactly the CPU time it adds to a queue:
//   a light task crosses for a small imbalance, a heavy one only for a large one.
// Placement applies the same rule to the machine as it would be after placing
// the task locally: it crosses exactly when the balancer would move the task
// away at its next pass, so placement never does what balancing would undo.
//
// Linux: the NUMA sched-domain levels (SD_NUMA) with their larger imbalance
// allowance (sd->imbalance_pct, adjust_numa_imbalance()), task_numa_migrate()

/// The cross-node rule of WRR placement and balancing (see above).
public enum NodeBalance {
    /// Whether a task of weight `weight` may move from a CPU of total weight
    /// `heavier` (the task counted) to a CPU of another node of total weight
    /// `lighter` (the task not counted): the move must not leave the
    /// destination heavier than the source.
    public static func mayCross(heavier: Int, lighter: Int, weight: Int) -> Bool {
        heavier - lighter >= 2 * weight
    }
}
