// File descriptors: lowest free number, the RLIMIT_NOFILE limit, close-on-exec
// bits per descriptor, and a seeded random sequence checked against a model.
import XCTest
@testable import KeelCore

private final class Handle {
    let id: Int
    init(_ id: Int) { self.id = id }
}

final class FSFileDescriptorTableTests: XCTestCase {
    func testLowestFreeDescriptor() throws {
        var t = FileDescriptorTable<Handle>()
        XCTAssertEqual(try t.install(Handle(0), closeOnExec: false), 0)
        XCTAssertEqual(try t.install(Handle(1), closeOnExec: false), 1)
        XCTAssertEqual(try t.install(Handle(2), closeOnExec: false), 2)
        XCTAssertEqual(t.remove(1)?.id, 1)
        XCTAssertNil(t.remove(1))
        XCTAssertEqual(try t.install(Handle(3), closeOnExec: false), 1, "the hole is reused")
        XCTAssertEqual(try t.install(Handle(4), closeOnExec: false, minimum: 10), 10, "F_DUPFD's minimum")
        XCTAssertEqual(try t.install(Handle(5), closeOnExec: false, minimum: 2), 3)
        XCTAssertEqual(t.openDescriptors, [0, 1, 2, 3, 10])
        XCTAssertNil(t.entry(-1))
        XCTAssertNil(t.entry(4))
        XCTAssertNil(t.entry(5000))
    }

    func testLimitIsEMFILE() throws {
        var t = FileDescriptorTable<Handle>()
        for i in 0..<1024 { XCTAssertEqual(try t.install(Handle(i), closeOnExec: false), i) }
        XCTAssertThrowsError(try t.install(Handle(0), closeOnExec: false)) { XCTAssertEqual($0 as? Errno, .EMFILE) }
        XCTAssertThrowsError(try t.install(Handle(0), closeOnExec: false, minimum: 2000)) {
            XCTAssertEqual($0 as? Errno, .EMFILE)
        }
        t.remove(700)
        XCTAssertEqual(try t.install(Handle(0), closeOnExec: false), 700)
    }

    func testReplaceIsDup2() throws {
        var t = FileDescriptorTable<Handle>()
        _ = try t.install(Handle(0), closeOnExec: true)
        XCTAssertNil(try t.replace(5, with: Handle(5), closeOnExec: false))
        XCTAssertEqual(try t.replace(0, with: Handle(9), closeOnExec: false)?.id, 0, "the old entry is returned to close")
        XCTAssertEqual(t.entry(0)?.id, 9)
        XCTAssertFalse(t.isCloseOnExec(0), "dup2 clears close-on-exec")
        XCTAssertThrowsError(try t.replace(1024, with: Handle(1), closeOnExec: false)) { XCTAssertEqual($0 as? Errno, .EBADF) }
        XCTAssertThrowsError(try t.replace(-1, with: Handle(1), closeOnExec: false)) { XCTAssertEqual($0 as? Errno, .EBADF) }
        XCTAssertEqual(try t.install(Handle(1), closeOnExec: false), 1)
    }

    func testCloseOnExecBelongsToTheDescriptor() throws {
        var t = FileDescriptorTable<Handle>()
        let shared = Handle(7)
        let a = try t.install(shared, closeOnExec: true)
        let b = try t.install(shared, closeOnExec: false)
        XCTAssertTrue(t.isCloseOnExec(a))
        XCTAssertFalse(t.isCloseOnExec(b))
        t.setCloseOnExec(b, true)
        t.setCloseOnExec(a, false)
        XCTAssertEqual([t.isCloseOnExec(a), t.isCloseOnExec(b)], [false, true])
        t.setCloseOnExec(40, true)
        XCTAssertFalse(t.isCloseOnExec(40), "closed descriptors have no flag")
        _ = try t.install(Handle(8), closeOnExec: true)
        XCTAssertEqual(t.removeCloseOnExec().count, 2)
        XCTAssertEqual(t.openDescriptors, [a])
        t.remove(a)
        XCTAssertEqual(try t.install(Handle(9), closeOnExec: false), 0)
        XCTAssertFalse(t.isCloseOnExec(0), "a reused slot starts without the flag")
    }

    func testRandomOperationsMatchModel() throws {
        var rng = SplitMix64(state: 2024)
        var t = FileDescriptorTable<Handle>()
        var model: [Int: (id: Int, cloexec: Bool)] = [:]
        for step in 0..<4_000 {
            let fd = rng.below(40) - 2
            switch rng.below(6) {
            case 0, 1:
                guard model.count < 36 else { break }
                let minimum = rng.below(3) == 0 ? rng.below(30) : 0
                let cloexec = rng.below(2) == 0
                let got = try t.install(Handle(step), closeOnExec: cloexec, minimum: minimum)
                let want = (max(minimum, 0)...).first { model[$0] == nil }!
                XCTAssertEqual(got, want)
                model[got] = (step, cloexec)
            case 2:
                XCTAssertEqual(t.remove(fd)?.id, model.removeValue(forKey: fd)?.id)
            case 3 where fd >= 0:
                let old = try t.replace(fd, with: Handle(step), closeOnExec: false)
                XCTAssertEqual(old?.id, model[fd]?.id)
                model[fd] = (step, false)
            case 4:
                let on = rng.below(2) == 0
                t.setCloseOnExec(fd, on)
                if model[fd] != nil { model[fd]!.cloexec = on }
            case 5 where rng.below(50) == 0:
                t.removeCloseOnExec()
                model = model.filter { !$0.value.cloexec }
            default:
                break
            }
            for probe in -1..<45 {
                XCTAssertEqual(t.entry(probe)?.id, model[probe]?.id)
                XCTAssertEqual(t.isCloseOnExec(probe), model[probe]?.cloexec ?? false)
            }
            XCTAssertEqual(t.openDescriptors, model.keys.sorted())
        }
    }
}
