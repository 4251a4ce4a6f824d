// The header mkswap(8) writes into the first page of a swap area, which
// swapon(2) reads back: Linux's "new style" (version 1) swap header.
//
//   bytes 0..<1024      boot bits, left for a disk label or boot loader
//   1024  version       UInt32, 1
//   1028  last_page     UInt32, the last usable page (the area is last_page + 1 pages)
//   1032  nr_badpages   UInt32, entries in badpages[]
//   1036  uuid          16 bytes
//   1052  volume label  16 bytes, NUL-padded
//   1068  padding       117 UInt32
//   1536  badpages[]    UInt32 page numbers never to use (at most 637)
//   4086  magic         "SWAPSPACE2"
//
// Fields are in the byte order of the machine mkswap ran on; swapon accepts
// the other order too (it byte-swaps a header whose version reads 1 swapped).
// Page 0 holds the header and is never a slot.
// Linux: include/linux/swap.h (union swap_header), mm/swapfile.c
// read_swap_header(), util-linux disk-utils/mkswap.c

public struct SwapHeader: Equatable, Sendable {
    /// The signature at the end of the first page. Linux: "SWAPSPACE2"
    public static let magic: [UInt8] = Array("SWAPSPACE2".utf8)
    /// The header page is the 4 KiB page size Keel and x86 Linux use.
    public static let size = Int(pageSize)
    static let magicOffset = size - 10
    static let versionOffset = 1024, lastPageOffset = 1028, badCountOffset = 1032
    static let uuidOffset = 1036, labelOffset = 1052, badPagesOffset = 1536
    /// Linux: MAX_SWAP_BADPAGES, the bad-page slots between badpages[] and the magic
    public static let maxBadPages = (magicOffset - badPagesOffset) / 4

    /// Linux: info.version (1)
    public var version: UInt32
    /// Linux: info.last_page
    public var lastPage: UInt32
    /// Linux: info.badpages[0..<nr_badpages]
    public var badPages: [UInt32]
    /// Linux: info.sws_uuid
    public var uuid: [UInt8]
    /// The volume label, up to 16 bytes. Linux: info.sws_volume
    public var label: [UInt8]

    public init(lastPage: UInt32, badPages: [UInt32] = [], uuid: [UInt8] = [UInt8](repeating: 0, count: 16),
                label: [UInt8] = []) {
        precondition(uuid.count == 16 && label.count <= 16 && badPages.count <= Self.maxBadPages)
        version = 1
        self.lastPage = lastPage
        self.badPages = badPages
        self.uuid = uuid
        self.label = label
    }

    /// Why swapon refuses a header; each is EINVAL, with Linux's message.
    public enum ParseError: Error, Equatable, Sendable {
        /// Linux: "Unable to find swap-space signature"
        case noSignature
        /// Linux: "Unable to handle swap header version %d"
        case unsupportedVersion(UInt32)
        /// last_page 0, or no good page. Linux: "Empty swap-file"
        case empty
        /// The header names more pages than the disk or file has.
        /// Linux: "Swap area shorter than signature indicates"
        case shorterThanSignature
        /// More than maxBadPages, a bad page on a swap file, or one outside the area.
        case badPages

        /// The kernel's message for it.
        public var message: String {
            switch self {
            case .noSignature: "Unable to find swap-space signature"
            case .unsupportedVersion(let v): "Unable to handle swap header version \(v)"
            case .empty: "Empty swap-file"
            case .shorterThanSignature: "Swap area shorter than signature indicates"
            case .badPages: "Invalid bad page list in the swap header"
            }
        }
    }

    /// The header in `page` (at least one 4 KiB page). Linux: the first half of read_swap_header()
    public init(parsing page: UnsafeRawBufferPointer) throws(ParseError) {
        guard page.count >= Self.size,
              Array(page[Self.magicOffset..<Self.magicOffset + 10]) == Self.magic else { throw .noSignature }
        func word(_ offset: Int) -> UInt32 { page.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
        var swapped = false
        version = word(Self.versionOffset)
        if version != 1 && version.byteSwapped == 1 {
            swapped = true               // made on a machine of the other byte order
            version = 1
        }
        guard version == 1 else { throw .unsupportedVersion(version) }
        let fix = { (v: UInt32) in swapped ? v.byteSwapped : v }
        lastPage = fix(word(Self.lastPageOffset))
        let badCount = fix(word(Self.badCountOffset))
        guard badCount <= UInt32(Self.maxBadPages) else { throw .badPages }
        badPages = (0..<Int(badCount)).map { fix(word(Self.badPagesOffset + 4 * $0)) }
        uuid = Array(page[Self.uuidOffset..<Self.uuidOffset + 16])
        let labelBytes = page[Self.labelOffset..<Self.labelOffset + 16]
        label = Array(labelBytes.prefix { $0 != 0 })
    }

    /// Writes the header page as mkswap does: zeros, the info block, the magic.
    /// Linux: util-linux mkswap's write_header_to_device()
    public func write(into page: UnsafeMutableRawBufferPointer) {
        precondition(page.count >= Self.size)
        for i in 0..<Self.size { page[i] = 0 }
        page.storeBytes(of: version, toByteOffset: Self.versionOffset, as: UInt32.self)
        page.storeBytes(of: lastPage, toByteOffset: Self.lastPageOffset, as: UInt32.self)
        page.storeBytes(of: UInt32(badPages.count), toByteOffset: Self.badCountOffset, as: UInt32.self)
        for (i, byte) in uuid.enumerated() { page[Self.uuidOffset + i] = byte }
        for (i, byte) in label.enumerated() { page[Self.labelOffset + i] = byte }
        for (i, bad) in badPages.enumerated() {
            page.storeBytes(of: bad, toByteOffset: Self.badPagesOffset + 4 * i, as: UInt32.self)
        }
        for (i, byte) in Self.magic.enumerated() { page[Self.magicOffset + i] = byte }
    }

    /// The slots swapon uses for an area of this header on `devicePages`
    /// pages of disk or file, header included: last_page + 1, capped at
    /// `maxSlots`, checked against the size and the bad pages. `isFile`:
    /// a swap file may not list bad pages. Linux: the second half of
    /// read_swap_header() (maxpages) and setup_swap_map()
    public func slots(devicePages: UInt64, maxSlots: UInt64, isFile: Bool) throws(ParseError) -> Int {
        guard lastPage > 0 else { throw .empty }
        // Linux: "Truncating oversized swap area" when last_page exceeds what
        // an entry can address: only that much is used.
        let slots = min(maxSlots, UInt64(lastPage) + 1)
        guard slots <= devicePages else { throw .shorterThanSignature }
        if isFile && !badPages.isEmpty { throw .badPages }
        var bad: [UInt32] = []
        for page in badPages {
            guard page > 0, page <= lastPage else { throw .badPages }
            if UInt64(page) < slots && !bad.contains(page) { bad.append(page) }
        }
        guard slots - 1 > UInt64(bad.count) else { throw .empty }
        return Int(slots)
    }

    /// The label as text (mkswap's -L), empty if none.
    public var labelText: String { String(decoding: label, as: UTF8.self) }
}
