// A SQLite VFS over the default one that gathers the write-ahead log's writes: one system call
// per thirty pages instead of two per page.
//
// SQLite writes each WAL frame as two pwrite calls (its 24-byte header, then the page), so a
// commit that dirties 200 pages makes 400 system calls, each a wake-up of the kernel that costs
// more than the copy on a virtual machine (bench/RESULTS.md). The frames of one commit are
// written at consecutive offsets; this VFS keeps them in a buffer of the log file's own and
// writes them, 124 KiB a call, before anything can depend on them:
// - before any other operation on the log file (read, sync, truncate, size, lock, file
//   control, close): the committing connection's sync (synchronous=FULL) finds them written;
// - before any connection's shared-memory barrier or lock: a commit is published to other
//   connections by the WAL index header written after a barrier (walIndexWriteHdr), so no
//   reader can be told of frames still in a buffer, whatever the synchronous setting.
// A process that dies with frames in a buffer loses only frames no one was told of, as if it had
// died before writing them. The database file and every other file pass straight through.
#pragma once

#include <cstdint>

namespace triaged::engine {

// Registers the VFS (once per process, not as the default) and returns its name for
// sqlite3_open_v2; nullptr if SQLite's default VFS cannot be wrapped (then open with the
// default: nothing is lost but the gathering).
const char* walWriteBufferVfs();

// Writes asked of the log files opened through the VFS, and the system calls made for them.
struct WalWriteCounts {
  uint64_t asked = 0;
  uint64_t made = 0;
};
WalWriteCounts walWriteCounts();

}  // namespace triaged::engine
