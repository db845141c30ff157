// The SQLite backend's WAL checkpoints, off the commit path.
//
// A commit appends its pages to the write-ahead log; a checkpoint copies them into the database
// file (reads of the log, writes and an fsync of the database). SQLite's automatic checkpoint
// runs inside the COMMIT that crosses its threshold, on the committing connection: the group
// being committed waits for it, and it took a fifth of the store thread's time (perf, realistic
// stream over HTTP). Here a thread of its own, on a connection of its own, runs PASSIVE
// checkpoints (they never block the writer) whenever `checkpoint_pages` of the log are not yet
// copied. The log starts again from its beginning only when every page of it has been copied,
// which a checkpoint running beside a busy writer never sees: so once the thread has copied all
// but a quarter of `checkpoint_pages`, the writer copies the rest itself (RESTART) and the log
// starts again. If the thread falls behind, the writer checkpoints the whole log once it reaches
// `limit_pages`. The writer never waits for it: a checkpoint the thread is running, or a reader
// holding an older snapshot (a backup), postpones the restart to a later commit.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "store/store.h"

namespace triaged::engine {

class WalCheckpointer {
 public:
  struct Options {
    uint32_t checkpoint_pages = 4096;  // 16 MiB of 4 KiB pages: wake the thread
    uint32_t limit_pages = 32768;      // 128 MiB: the writer checkpoints itself
  };

  // Opens its own connection to the database at `path` (the writer's connection, `writer`, has
  // it open in WAL mode) and takes over the writer's checkpoints. Throws naming the reason; the
  // caller then keeps SQLite's automatic checkpoint.
  WalCheckpointer(sqlite3* writer, const std::string& path, Options options);
  // Stops the thread (after the checkpoint it may be running) and gives the writer back its
  // automatic checkpoint.
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  Store::Checkpoints counts() const;
  // Returns once no checkpoint is wanted or running (tests drain it instead of waiting).
  void drain();

 private:
  static int onCommit(void* self, sqlite3* db, const char* schema, int pages);
  void committed(int pages);
  void run();

  sqlite3* writer_;
  sqlite3* own_ = nullptr;
  std::string path_;
  Options options_;
  // The log's generation (counted by the writer each time the log starts again from its
  // beginning), and the thread's last checkpoint: its generation << 32 | pages it copied.
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> backfilled_{0};
  uint32_t last_pages_ = 0;  // the writer's thread only
  std::atomic<uint64_t> background_{0}, background_failed_{0}, writer_done_{0}, writer_failed_{0};
  std::atomic<uint32_t> wal_pages_{0};
  std::atomic<bool> busy_{false};  // a checkpoint is wanted or running (wanted_ || running_)
  std::mutex mutex_;
  std::condition_variable wake_, idle_;
  bool wanted_ = false, running_ = false, stop_ = false;
  std::thread thread_;
};

}  // namespace triaged::engine
