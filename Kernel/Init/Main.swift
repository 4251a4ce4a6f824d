// Where Keel's Swift code begins. Linux: init/main.c start_kernel()

@_cdecl("kmain")
func kmain(_ magic: UInt32, _ infoPhys: UInt64) {
    Console.initialize()
    Console.write("Keel 0.1 (x86_64, Embedded Swift)\n")
    IDT.load()
    Console.write("keel: boot complete\n")
    PowerOff.now(.normal)
}
