// Page-fault classification (Linux handle_mm_fault and x86 access_error) as a
// truth table: every region kind × access × PTE state, stack growth and its
// limits, and the SIGSEGV causes with their si_code values.
import XCTest
@testable import KeelCore

final class FaultTests: XCTestCase {
    let layout = MMLayout()
    let addr = page(0x1234) + 0x10

    let privateAnon = vmaPages(0x1200, 0x1300, .dataDefault)
    let sharedAnon = vmaPages(0x1200, 0x1300, [.dataDefault, .shared, .mayShare])
    let privateFile = vmaPages(0x1200, 0x1300, [.dataDefault], fileAt(9, 0x40))
    let sharedFile = vmaPages(0x1200, 0x1300, [.dataDefault, .shared, .mayShare], fileAt(9, 0x40))
    let readOnly = vmaPages(0x1200, 0x1300, [.read, .mayRead])
    let text = vmaPages(0x1200, 0x1300, [.read, .exec, .mayRead, .mayExec], fileAt(9, 0))
    let protNone = vmaPages(0x1200, 0x1300, [.mayRead, .mayWrite])
    let writeOnly = vmaPages(0x1200, 0x1300, [.write, .mayWrite])

    func classify(_ vma: VMA?, _ kind: FaultAccess.Kind, _ pte: PTEState = .notPresent,
                  at address: VirtAddr? = nil, prev: VMA? = nil, user: Bool = true) -> FaultAction {
        FaultAction.classify(address: address ?? addr, access: FaultAccess(kind, fromUserMode: user),
                             vma: vma, prev: prev, pte: pte, layout: layout)
    }

    func testSiCodes() {
        XCTAssertEqual(SegvCause.noVMA.siCode, 1)
        XCTAssertEqual(SegvCause.accessError.siCode, 2)
    }

    func testNoRegion() {
        for kind in [FaultAccess.Kind.read, .write, .execute] {
            XCTAssertEqual(classify(nil, kind), .segv(.noVMA))
        }
        // Address below a region that does not grow down.
        XCTAssertEqual(classify(privateAnon, .read, at: page(0x1100)), .segv(.noVMA))
    }

    func testAbsentAnonymous() {
        XCTAssertEqual(classify(privateAnon, .write), .zeroFillAnonymous)
        XCTAssertEqual(classify(privateAnon, .read), .mapZeroPage)
        XCTAssertEqual(classify(sharedAnon, .read), .zeroFillAnonymous, "shared memory never maps the zero page")
        XCTAssertEqual(classify(sharedAnon, .write), .zeroFillAnonymous)
        XCTAssertEqual(classify(privateAnon, .execute), .segv(.accessError), "no VM_EXEC")
        XCTAssertEqual(classify(writeOnly, .read), .mapZeroPage, "x86 cannot express write-only")
    }

    func testAbsentFile() {
        // 0x1234 is 0x34 pages into a region mapping the file from page 0x40.
        XCTAssertEqual(classify(privateFile, .read), .readFilePage(pageOffset: 0x74))
        XCTAssertEqual(classify(privateFile, .write), .copyFilePage(pageOffset: 0x74))
        XCTAssertEqual(classify(sharedFile, .read), .readFilePage(pageOffset: 0x74))
        XCTAssertEqual(classify(sharedFile, .write), .writeSharedFilePage(pageOffset: 0x74))
        XCTAssertEqual(classify(text, .execute), .readFilePage(pageOffset: 0x34))
        XCTAssertEqual(classify(text, .execute, at: page(0x1200)), .readFilePage(pageOffset: 0))
    }

    func testAccessErrors() {
        XCTAssertEqual(classify(readOnly, .write), .segv(.accessError))
        XCTAssertEqual(classify(readOnly, .write, .present(writable: false, frame: .pageCache)), .segv(.accessError))
        XCTAssertEqual(classify(text, .write), .segv(.accessError))
        XCTAssertEqual(classify(privateAnon, .execute, .present(writable: true, frame: .anonymous(mapCount: 1))),
                       .segv(.accessError), "execute of NX data")
        for kind in [FaultAccess.Kind.read, .write, .execute] {
            XCTAssertEqual(classify(protNone, kind), .segv(.accessError), "PROT_NONE \(kind)")
        }
        XCTAssertEqual(classify(text, .execute, user: false), .segv(.accessError), "kernel executing user memory")
        XCTAssertEqual(classify(privateAnon, .write, user: false), .zeroFillAnonymous, "copy_to_user faults in normally")
    }

    func testWriteProtectFaults() {
        func wp(_ vma: VMA, _ frame: MappedFrame) -> FaultAction {
            classify(vma, .write, .present(writable: false, frame: frame))
        }
        XCTAssertEqual(wp(privateAnon, .anonymous(mapCount: 1)), .reuseOnWrite, "only mapping: reuse")
        XCTAssertEqual(wp(privateAnon, .anonymous(mapCount: 2)), .copyOnWrite, "shared after fork: copy")
        XCTAssertEqual(wp(privateAnon, .zeroPage), .copyOnWrite, "the zero page is never reused")
        XCTAssertEqual(wp(privateFile, .pageCache), .copyOnWrite, "private file page: copy")
        XCTAssertEqual(wp(privateFile, .anonymous(mapCount: 1)), .reuseOnWrite, "already our private copy")
        XCTAssertEqual(wp(sharedFile, .pageCache), .reuseOnWrite, "shared mapping writes in place")
        XCTAssertEqual(wp(sharedAnon, .anonymous(mapCount: 3)), .reuseOnWrite)
    }

    func testSpuriousFaults() {
        let mapped = PTEState.present(writable: true, frame: .anonymous(mapCount: 1))
        XCTAssertEqual(classify(privateAnon, .write, mapped), .spurious)
        XCTAssertEqual(classify(privateAnon, .read, mapped), .spurious)
        XCTAssertEqual(classify(privateAnon, .read, .present(writable: false, frame: .zeroPage)), .spurious)
        XCTAssertEqual(classify(text, .execute, .present(writable: false, frame: .pageCache)), .spurious)
    }

    func testStackGrowth() {
        let top = layout.stackTop.value
        let stack = VMA(start: VirtAddr(top - 16 * pageSize), end: layout.stackTop, flags: .stackDefault)
        let below = VirtAddr(stack.start.value - 3 * pageSize + 8)
        XCTAssertEqual(classify(stack, .write, at: below), .growStack(newStart: below.alignedDown()))
        XCTAssertEqual(classify(stack, .read, at: below), .growStack(newStart: below.alignedDown()))
        XCTAssertEqual(classify(stack, .execute, at: below), .segv(.accessError), "stack is not executable")

        // RLIMIT_STACK: the stack may reach exactly 8 MiB, not a page more.
        let limit = VirtAddr(top - layout.stackLimit)
        XCTAssertEqual(classify(stack, .write, at: limit), .growStack(newStart: limit))
        XCTAssertEqual(classify(stack, .write, at: VirtAddr(limit.value - 1)), .segv(.noVMA))

        // Guard gap to the region below.
        let prevEnd = VirtAddr(stack.start.value - 4 * pageSize - layout.stackGuardGap)
        let prev = VMA(start: VirtAddr(prevEnd.value - pageSize), end: prevEnd, flags: .dataDefault)
        let justOutside = VirtAddr(prevEnd.value + layout.stackGuardGap)
        XCTAssertEqual(classify(stack, .write, at: justOutside, prev: prev), .growStack(newStart: justOutside))
        XCTAssertEqual(classify(stack, .write, at: justOutside - 1, prev: prev), .segv(.noVMA))
        var protNonePrev = prev
        protNonePrev.flags = [.mayRead]
        XCTAssertEqual(classify(stack, .write, at: justOutside - 1, prev: protNonePrev),
                       .growStack(newStart: VirtAddr(justOutside.value - pageSize)), "PROT_NONE needs no gap")

        // Below mmap_min_addr.
        var low = VMA(start: page(4), end: page(8), flags: .stackDefault)
        XCTAssertEqual(classify(low, .write, at: page(1)), .growStack(newStart: page(1)))
        XCTAssertEqual(classify(low, .write, at: VirtAddr(100)), .segv(.noVMA))
        low.flags = .dataDefault
        XCTAssertEqual(classify(low, .write, at: page(3)), .segv(.noVMA))
    }

    func testStackGrowthThroughTheTree() throws {
        var tree = makeTree([vmaPages(0x100, 0x110), vmaPages(0x7000, 0x7010, .stackDefault)])
        let address = page(0x6ffe) + 0x123
        let (vma, prev) = tree.findVMAPrev(address)
        let action = FaultAction.classify(address: address, access: FaultAccess(.write), vma: vma, prev: prev,
                                          pte: .notPresent, layout: layout)
        guard case let .growStack(newStart) = action else { return XCTFail("\(action)") }
        try tree.expandDownwards(to: newStart)
        let retry = tree.findVMAPrev(address)
        XCTAssertEqual(retry.vma?.start, page(0x6ffe))
        XCTAssertEqual(FaultAction.classify(address: address, access: FaultAccess(.write), vma: retry.vma,
                                            prev: retry.prev, pte: .notPresent, layout: layout), .zeroFillAnonymous)
        assertValid(tree)
    }
}
