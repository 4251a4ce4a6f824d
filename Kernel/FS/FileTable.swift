// The open files of a task. Linux: struct files_struct
// (Scaffolding: the FS engineer fills this in.)

final class FileTable {
    init() {}
}
