#include "store/sqlite/wal_checkpointer.h"

#include <pthread.h>

#include <stdexcept>

#include "common/log.h"
#include "store/sqlite/wal_write_buffer.h"

namespace triaged::engine {

namespace {

// SQLite's automatic checkpoint threshold as the writer had it before (16 MiB of 4 KiB pages),
// and the writer connection's busy timeout (sqlite_store.cpp).
constexpr int kWriterAutoCheckpoint = 4096;
constexpr int kWriterBusyTimeoutMs = 5000;

// A failure is logged the first time and then once per 100, with the count.
bool worthLogging(uint64_t failures) { return failures == 1 || failures % 100 == 0; }

}  // namespace

WalCheckpointer::WalCheckpointer(sqlite3* writer, const std::string& path, Options options)
    : writer_(writer), path_(path), options_(options) {
  if (sqlite3_open_v2(path.c_str(), &own_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      walWriteBufferVfs()) != SQLITE_OK) {
    std::string why = own_ ? sqlite3_errmsg(own_) : "out of memory";
    sqlite3_close_v2(own_);
    throw std::runtime_error("cannot open " + path + " for checkpoints: " + why);
  }
  // A checkpoint syncs the log before it copies and the database after, as the writer would.
  sqlite3_exec(own_, "PRAGMA synchronous=FULL; PRAGMA cache_size=-1024;", nullptr, nullptr,
               nullptr);
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "triaged-ckpt");
    run();
  });
  // Replaces the automatic checkpoint (which is itself a WAL hook).
  sqlite3_wal_hook(writer_, &WalCheckpointer::onCommit, this);
}

WalCheckpointer::~WalCheckpointer() {
  sqlite3_wal_autocheckpoint(writer_, kWriterAutoCheckpoint);  // removes our hook
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
  sqlite3_close_v2(own_);
}

Store::Checkpoints WalCheckpointer::counts() const {
  Store::Checkpoints c;
  c.background = background_.load(std::memory_order_relaxed);
  c.background_failed = background_failed_.load(std::memory_order_relaxed);
  c.writer = writer_done_.load(std::memory_order_relaxed);
  c.writer_failed = writer_failed_.load(std::memory_order_relaxed);
  c.wal_pages = wal_pages_.load(std::memory_order_relaxed);
  return c;
}

void WalCheckpointer::drain() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return !wanted_ && !running_; });
}

int WalCheckpointer::onCommit(void* self, sqlite3*, const char*, int pages) {
  static_cast<WalCheckpointer*>(self)->committed(pages);
  return SQLITE_OK;  // the commit happened whatever a checkpoint does
}

// On the writer's thread, after each commit, with the pages now in the log.
void WalCheckpointer::committed(int pages) {
  auto n = static_cast<uint32_t>(pages);
  wal_pages_.store(n, std::memory_order_relaxed);
  if (n < last_pages_) generation_.fetch_add(1, std::memory_order_relaxed);  // started again
  last_pages_ = n;
  // What the thread copied, if of the log as it is now (not of one before a restart).
  uint64_t b = backfilled_.load(std::memory_order_acquire);
  uint32_t done = (b >> 32) == (generation_.load(std::memory_order_relaxed) & 0xffffffffu)
                      ? static_cast<uint32_t>(b)
                      : 0;
  bool thread_busy = busy_.load(std::memory_order_acquire);
  // The log starts again from its beginning only once every page of it is copied, which a
  // checkpoint running beside a busy writer never sees. When the thread has copied all but a
  // little (or the log is half its limit), the writer copies the rest and restarts the log
  // (RESTART); at the limit it copies the whole log. Never waiting: if the thread is copying
  // right now, nothing happens (SQLite's rule), and if a reader (a backup) holds an older
  // snapshot, what it can is copied and the log starts again at a later commit.
  bool at_limit = n >= options_.limit_pages;
  bool caught_up = !thread_busy && done > 0 &&
                   (n - done <= options_.checkpoint_pages / 4 || n >= options_.limit_pages / 2);
  if (at_limit || caught_up) {
    sqlite3_busy_timeout(writer_, 0);
    int rc =
        sqlite3_wal_checkpoint_v2(writer_, nullptr, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
    sqlite3_busy_timeout(writer_, kWriterBusyTimeoutMs);
    if (rc == SQLITE_OK) {
      writer_done_.fetch_add(1, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_relaxed);  // the next commit starts it again
      return;
    }
    if (at_limit && rc != SQLITE_BUSY) {
      uint64_t f = writer_failed_.fetch_add(1, std::memory_order_relaxed) + 1;
      if (worthLogging(f))
        log::get("store")->warn("{}: checkpoint of a {}-page write-ahead log failed ({} times): {}",
                                path_, n, f, sqlite3_errstr(rc));
    }
    return;
  }
  if (thread_busy || n - done < options_.checkpoint_pages) return;
  {
    std::lock_guard lock(mutex_);
    if (wanted_) return;
    wanted_ = true;
    busy_.store(true, std::memory_order_release);
  }
  wake_.notify_one();
}

void WalCheckpointer::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return wanted_ || stop_; });
    if (stop_) break;
    wanted_ = false;
    running_ = true;
    lock.unlock();
    uint64_t generation = generation_.load(std::memory_order_relaxed);
    int log_pages = 0, copied = 0;
    int rc =
        sqlite3_wal_checkpoint_v2(own_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_pages, &copied);
    if (rc == SQLITE_OK) {
      backfilled_.store(generation << 32 | static_cast<uint32_t>(copied),
                        std::memory_order_release);
      background_.fetch_add(1, std::memory_order_relaxed);
    } else if (rc != SQLITE_BUSY) {  // busy: the writer is checkpointing itself right now
      uint64_t f = background_failed_.fetch_add(1, std::memory_order_relaxed) + 1;
      if (worthLogging(f))
        log::get("store")->warn("{}: background checkpoint failed ({} times): {}", path_, f,
                                sqlite3_errmsg(own_));
    }
    lock.lock();
    running_ = false;
    if (!wanted_) busy_.store(false, std::memory_order_release);
    idle_.notify_all();
  }
  running_ = false;
  idle_.notify_all();
}

}  // namespace triaged::engine
