// A task's file-system context: its current directory. Linux: struct fs_struct
// (Scaffolding: the FS engineer fills this in.)

final class FSContext {
    init() {}
}
