// Fixtures for the VM tests: page-number shorthands for
// building VMAs, and a page-by-page reference model of an address space that the
// randomized tests compare VMATree against.
import XCTest
@testable import KeelCore


/// The address of page `n`.
func page(_ n: UInt64) -> VirtAddr { VirtAddr(n << pageShift) }

/// A VMA over pages [first, end).
func vmaPages(_ first: UInt64, _ end: UInt64, _ flags: VMFlags = .dataDefault,
              _ backing: VMABacking = .anonymous) -> VMA {
    VMA(start: page(first), end: page(end), flags: flags, backing: backing)
}

/// A file backing at `offset` pages into file `id`.
func fileAt(_ id: UInt64, _ offset: UInt64) -> VMABacking { .file(MappedFileID(id), pageOffset: offset) }

/// Read-only shared mapping of a file opened read-only: mprotect may not add write.
let readOnlySharedFile: VMFlags = [.read, .shared, .mayRead, .mayExec, .mayShare]

/// Where one mapped page gets its contents from.
enum ModelBacking: Equatable {
    case anonymous
    case file(UInt64, page: UInt64)
}

/// What a single mapped page looks like in the reference model.
struct ModelPage: Equatable {
    var flags: VMFlags
    var backing: ModelBacking
}

/// Expands regions into one entry per page of [0, pages).
func expandPages<S: Sequence>(_ vmas: S, pages: Int) -> [ModelPage?] where S.Element == VMA {
    var out = [ModelPage?](repeating: nil, count: pages)
    for vma in vmas {
        for p in vma.start.pageNumber..<vma.end.pageNumber {
            let backing: ModelBacking
            switch vma.backing {
            case .anonymous: backing = .anonymous
            case let .file(id, _): backing = .file(id.rawValue, page: vma.filePage(at: page(p))!)
            }
            out[Int(p)] = ModelPage(flags: vma.flags, backing: backing)
        }
    }
    return out
}

/// Asserts the tree is internally consistent, with the caller's line on failure.
func assertValid(_ tree: VMATree, _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
    let violation = tree.checkInvariants()
    XCTAssertNil(violation, "invariant broken \(String(describing: violation)) \(message)", file: file, line: line)
}

/// Builds a tree from non-overlapping regions.
func makeTree(_ vmas: [VMA]) -> VMATree {
    var tree = VMATree()
    for vma in vmas { try! tree.insert(vma) }
    return tree
}

/// Files for the maps printer, keyed by handle.
struct VMTestFiles: MappedFileLookup {
    var files: [UInt64: MappedFileInfo]
    func mappedFileInfo(_ file: MappedFileID) -> MappedFileInfo { files[file.rawValue]! }
}

/// `addr - bytes`, which Base leaves out on purpose (kernel code subtracts addresses).
func - (addr: VirtAddr, bytes: UInt64) -> VirtAddr { VirtAddr(addr.value - bytes) }

extension VMATree {
    /// The removed pieces of an unmap as a list, for the tests' assertions
    /// (the kernel takes them one by one and keeps none).
    mutating func unmapRange(_ start: VirtAddr, _ end: VirtAddr) throws(VMError) -> [VMA] {
        var removed: [VMA] = []
        try unmapRange(start, end) { removed.append($0) }
        return removed
    }
}
