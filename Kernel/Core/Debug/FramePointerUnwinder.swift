// A call trace from the chain of saved frame pointers. Keel's Swift and C code keeps rbp
// as a frame pointer, so at every call depth [rbp] holds the caller's rbp and [rbp + 8]
// the return address into the caller. The unwinder runs inside a panic, on a stack that
// may be the very thing that broke, so it checks every pointer before reading it.

/// Read-only access to kernel memory for the unwinder.
/// Linux: get_stack_info() deciding which stack an address is on, then READ_ONCE_NOCHECK()
public protocol StackMemory {
    /// True if the 8 bytes at `address` are mapped kernel memory that can be read
    /// without faulting.
    func isReadableKernelAddress(_ address: UInt64) -> Bool
    /// Reads the 8 bytes at an address `isReadableKernelAddress` accepted.
    func read64(_ address: UInt64) -> UInt64
}

/// The return addresses up the frame-pointer chain, innermost caller first.
/// Linux: unwind_next_frame() in arch/x86/kernel/unwind_frame.c
public struct FramePointerUnwinder<Memory: StackMemory>: Sequence, IteratorProtocol {
    /// Frames after which the trace stops, so a cyclic chain cannot print forever.
    public static var maxFrames: Int { 32 }

    private let memory: Memory
    /// The next frame to read; 0 once the chain has ended.
    private var framePointer: UInt64
    private var frames = 0

    /// Starts at `framePointer`: the interrupted rbp, or the caller's own rbp.
    public init(memory: Memory, framePointer: UInt64) {
        self.memory = memory
        self.framePointer = framePointer
    }

    public mutating func next() -> UInt64? {
        let frame = framePointer
        guard frames < Self.maxFrames, frame != 0, frame & 7 == 0,
              memory.isReadableKernelAddress(frame), memory.isReadableKernelAddress(frame &+ 8)
        else { return nil }
        let returnAddress = memory.read64(frame + 8)
        guard returnAddress != 0 else { return nil }
        // The stack grows down, so a caller's frame lies strictly above its callee's;
        // a pointer that does not move up is corrupt or loops, and ends the trace.
        let callerFrame = memory.read64(frame)
        framePointer = callerFrame > frame ? callerFrame : 0
        frames += 1
        return returnAddress
    }
}
