#include "store/sqlite/wal_write_buffer.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

namespace triaged::engine {
namespace {

// 124 KiB: thirty 4 KiB frames a system call. Not more: SQLite's Unix VFS writes at most
// 128 KiB - 1 bytes in one call (seekAndWriteFd masks the length with 0x1ffff, so a longer
// write goes out short, and one of a multiple of 128 KiB fails as if the disk were full).
constexpr size_t kBufferBytes = 124 << 10;
constexpr char kVfsName[] = "triaged-wal-buffer";

// The file SQLite holds: ours first, the default VFS's file after it in the same allocation.
struct File {
  sqlite3_file base;
  sqlite3_file* real = nullptr;
  bool wal = false;
  // The log's gathered writes: `len` bytes at file offset `offset`. Written under `mu` below.
  // Only the file's own connection, so one thread at a time, gathers into it; another thread
  // may write it out (a barrier). So `len` is atomic: the owner may read it without the lock,
  // and finding it 0 it stays 0 until the owner writes again.
  std::unique_ptr<char[]> buffer;
  std::atomic<size_t> len{0};
  sqlite3_int64 offset = 0;
  // A write that failed where it could not be reported (a barrier): set before `len` is 0.
  std::atomic<int> failed{SQLITE_OK};
};

sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_vfs;
// Every buffer, and the list of files whose buffer holds frames. A barrier on any connection
// writes them all: it cannot tell which log is its own, and writing early is always correct.
std::mutex mu;
std::vector<File*> pending;
std::atomic<bool> any_pending{false};
std::atomic<uint64_t> asked{0};
std::atomic<uint64_t> made{0};

const sqlite3_io_methods* realMethods(sqlite3_file* f) {
  return reinterpret_cast<File*>(f)->real->pMethods;
}

// `reported`: the caller returns the error to SQLite, which then rolls the transaction back and
// may write the frames again later (a full disk that was cleared, say). A barrier cannot
// report one: then the file fails every operation after it, as a reader may already be told
// of frames that never reached it.
int writeOutLocked(File* f, bool reported = true) {
  size_t len = f->len.load(std::memory_order_relaxed);
  if (len == 0) return f->failed.load(std::memory_order_relaxed);
  made.fetch_add(1, std::memory_order_relaxed);
  int rc = f->real->pMethods->xWrite(f->real, f->buffer.get(), static_cast<int>(len), f->offset);
  if (rc != SQLITE_OK && !reported && f->failed.load(std::memory_order_relaxed) == SQLITE_OK)
    f->failed.store(rc, std::memory_order_relaxed);
  f->len.store(0, std::memory_order_release);
  pending.erase(std::remove(pending.begin(), pending.end(), f), pending.end());
  any_pending.store(!pending.empty(), std::memory_order_release);
  return rc != SQLITE_OK ? rc : f->failed.load(std::memory_order_relaxed);
}

// Before any operation on a log file but a write. Without the lock when nothing is gathered:
// the checkpointer's reads of the log, and most of the writer's calls, never wait on it.
int writeOut(sqlite3_file* file) {
  auto* f = reinterpret_cast<File*>(file);
  if (!f->wal) return SQLITE_OK;
  if (f->len.load(std::memory_order_acquire) == 0) return f->failed.load(std::memory_order_relaxed);
  std::lock_guard lock(mu);
  return writeOutLocked(f);
}

// Before a shared-memory barrier or lock, on any file: every log's frames reach the file
// before a reader can be told of them. With synchronous=FULL the commit's sync has written
// them already and this finds nothing.
void writeOutAll() {
  if (!any_pending.load(std::memory_order_acquire)) return;
  std::lock_guard lock(mu);
  while (!pending.empty()) writeOutLocked(pending.back(), false);
}

int xClose(sqlite3_file* file) {
  auto* f = reinterpret_cast<File*>(file);
  int rc = writeOut(file);
  int closed = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
  f->~File();
  return rc != SQLITE_OK ? rc : closed;
}

int xWrite(sqlite3_file* file, const void* data, int n, sqlite3_int64 at) {
  auto* f = reinterpret_cast<File*>(file);
  if (!f->wal) return f->real->pMethods->xWrite(f->real, data, n, at);
  asked.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mu);
  if (int failed = f->failed.load(std::memory_order_relaxed); failed != SQLITE_OK) return failed;
  auto size = static_cast<size_t>(n);
  size_t len = f->len.load(std::memory_order_relaxed);
  if (len > 0 && (f->offset + static_cast<sqlite3_int64>(len) != at || len + size > kBufferBytes)) {
    if (int rc = writeOutLocked(f); rc != SQLITE_OK) return rc;
    len = 0;
  }
  bool gather = size <= kBufferBytes / 2;  // not a frame of 64 KiB pages
  if (gather && !f->buffer) f->buffer.reset(new (std::nothrow) char[kBufferBytes]);
  if (!gather || !f->buffer) {  // at once, after what is gathered
    if (int rc = writeOutLocked(f); rc != SQLITE_OK) return rc;
    made.fetch_add(1, std::memory_order_relaxed);
    return f->real->pMethods->xWrite(f->real, data, n, at);
  }
  if (len == 0) {
    f->offset = at;
    pending.push_back(f);
    any_pending.store(true, std::memory_order_release);
  }
  std::memcpy(f->buffer.get() + len, data, size);
  f->len.store(len + size, std::memory_order_relaxed);
  return SQLITE_OK;
}

// The default VFS's method M on the real file, once the log's gathered frames are written.
template <auto M, typename... Args>
int afterWriteOut(sqlite3_file* file, Args... args) {
  if (int rc = writeOut(file); rc != SQLITE_OK) return rc;
  sqlite3_file* real = reinterpret_cast<File*>(file)->real;
  return (real->pMethods->*M)(real, args...);
}

int xSectorSize(sqlite3_file* file) {
  return realMethods(file)->xSectorSize(reinterpret_cast<File*>(file)->real);
}
int xDeviceCharacteristics(sqlite3_file* file) {
  return realMethods(file)->xDeviceCharacteristics(reinterpret_cast<File*>(file)->real);
}
// Shared memory and mapping are version 2 and 3 of a file's methods: Unix's files have both.
int xShmMap(sqlite3_file* file, int page, int size, int extend, void volatile** out) {
  if (realMethods(file)->iVersion < 2) return SQLITE_IOERR_SHMMAP;
  return realMethods(file)->xShmMap(reinterpret_cast<File*>(file)->real, page, size, extend, out);
}
int xShmLock(sqlite3_file* file, int offset, int n, int flags) {
  writeOutAll();
  if (realMethods(file)->iVersion < 2) return SQLITE_IOERR_SHMLOCK;
  return realMethods(file)->xShmLock(reinterpret_cast<File*>(file)->real, offset, n, flags);
}
void xShmBarrier(sqlite3_file* file) {
  writeOutAll();
  if (realMethods(file)->iVersion < 2) return;
  realMethods(file)->xShmBarrier(reinterpret_cast<File*>(file)->real);
}
int xShmUnmap(sqlite3_file* file, int delete_flag) {
  writeOutAll();
  if (realMethods(file)->iVersion < 2) return SQLITE_OK;
  return realMethods(file)->xShmUnmap(reinterpret_cast<File*>(file)->real, delete_flag);
}
int xFetch(sqlite3_file* file, sqlite3_int64 at, int n, void** out) {
  if (realMethods(file)->iVersion < 3) {
    *out = nullptr;  // not mapped: SQLite reads instead
    return SQLITE_OK;
  }
  return afterWriteOut<&sqlite3_io_methods::xFetch>(file, at, n, out);
}
int xUnfetch(sqlite3_file* file, sqlite3_int64 at, void* p) {
  if (realMethods(file)->iVersion < 3) return SQLITE_OK;
  return realMethods(file)->xUnfetch(reinterpret_cast<File*>(file)->real, at, p);
}

const sqlite3_io_methods kMethods = {
    3,
    xClose,
    afterWriteOut<&sqlite3_io_methods::xRead, void*, int, sqlite3_int64>,
    xWrite,
    afterWriteOut<&sqlite3_io_methods::xTruncate, sqlite3_int64>,
    afterWriteOut<&sqlite3_io_methods::xSync, int>,
    afterWriteOut<&sqlite3_io_methods::xFileSize, sqlite3_int64*>,
    afterWriteOut<&sqlite3_io_methods::xLock, int>,
    afterWriteOut<&sqlite3_io_methods::xUnlock, int>,
    afterWriteOut<&sqlite3_io_methods::xCheckReservedLock, int*>,
    afterWriteOut<&sqlite3_io_methods::xFileControl, int, void*>,
    xSectorSize,
    xDeviceCharacteristics,
    xShmMap,
    xShmLock,
    xShmBarrier,
    xShmUnmap,
    xFetch,
    xUnfetch,
};

int vfsOpen(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  auto* f = new (file) File;
  f->base.pMethods = nullptr;
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + sizeof(File));
  f->real->pMethods = nullptr;
  f->wal = (flags & SQLITE_OPEN_WAL) != 0;
  int rc = g_real->xOpen(g_real, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK || !f->real->pMethods) {
    if (f->real->pMethods) f->real->pMethods->xClose(f->real);
    f->~File();
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  }
  f->base.pMethods = &kMethods;
  return SQLITE_OK;
}

int vfsDelete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_real->xDelete(g_real, name, sync_dir);
}
int vfsAccess(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_real->xAccess(g_real, name, flags, out);
}
int vfsFullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_real->xFullPathname(g_real, name, n, out);
}
void* vfsDlOpen(sqlite3_vfs*, const char* name) { return g_real->xDlOpen(g_real, name); }
void vfsDlError(sqlite3_vfs*, int n, char* out) { g_real->xDlError(g_real, n, out); }
void (*vfsDlSym(sqlite3_vfs*, void* h, const char* sym))(void) {
  return g_real->xDlSym(g_real, h, sym);
}
void vfsDlClose(sqlite3_vfs*, void* h) { g_real->xDlClose(g_real, h); }
int vfsRandomness(sqlite3_vfs*, int n, char* out) { return g_real->xRandomness(g_real, n, out); }
int vfsSleep(sqlite3_vfs*, int us) { return g_real->xSleep(g_real, us); }
int vfsCurrentTime(sqlite3_vfs*, double* out) { return g_real->xCurrentTime(g_real, out); }
int vfsGetLastError(sqlite3_vfs*, int n, char* out) {
  return g_real->xGetLastError(g_real, n, out);
}
int vfsCurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_real->xCurrentTimeInt64(g_real, out);
}

const char* registerVfs() {
  sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
  if (!real || real->iVersion < 2 || !real->xCurrentTimeInt64) return nullptr;
  g_real = real;
  g_vfs = sqlite3_vfs{};
  g_vfs.iVersion = 2;
  g_vfs.szOsFile = static_cast<int>(sizeof(File)) + real->szOsFile;
  g_vfs.mxPathname = real->mxPathname;
  g_vfs.zName = kVfsName;
  g_vfs.xOpen = vfsOpen;
  g_vfs.xDelete = vfsDelete;
  g_vfs.xAccess = vfsAccess;
  g_vfs.xFullPathname = vfsFullPathname;
  g_vfs.xDlOpen = vfsDlOpen;
  g_vfs.xDlError = vfsDlError;
  g_vfs.xDlSym = vfsDlSym;
  g_vfs.xDlClose = vfsDlClose;
  g_vfs.xRandomness = vfsRandomness;
  g_vfs.xSleep = vfsSleep;
  g_vfs.xCurrentTime = vfsCurrentTime;
  g_vfs.xGetLastError = vfsGetLastError;
  g_vfs.xCurrentTimeInt64 = vfsCurrentTimeInt64;
  if (sqlite3_vfs_register(&g_vfs, 0) != SQLITE_OK) return nullptr;
  return kVfsName;
}

}  // namespace

const char* walWriteBufferVfs() {
  static const char* name = registerVfs();
  return name;
}

WalWriteCounts walWriteCounts() {
  return {asked.load(std::memory_order_relaxed), made.load(std::memory_order_relaxed)};
}

}  // namespace triaged::engine
