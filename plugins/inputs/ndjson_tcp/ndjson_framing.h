// The framing of NDJSON over TCP as a connection reads it into its fixed buffer: complete lines
// end at the last newline; a line that fills the whole buffer without a newline is dropped
// (counted once, as too large) up to its newline. A pure function of the buffer and one flag, so
// the fuzz_framing harness can read a stream in pieces of any size and compare.
#pragma once

#include <cstddef>
#include <cstring>

namespace triaged::plugins {

struct NdjsonFrames {
  size_t start = 0, end = 0;   // decode [start, end): complete lines, each ending in '\n'
  bool discard_all = false;    // the buffer holds only part of an oversized line: empty it
  bool new_oversized = false;  // a line longer than the buffer began (count it once)
  bool skip_ended = false;     // the dropped line ended in this read (it had a line number)
};

// `filled` bytes of `data` (a buffer of `capacity` bytes); `skipping`: an oversized line is
// being dropped (updated). The caller decodes [start, end), then keeps [end, filled).
inline NdjsonFrames nextNdjsonFrames(const char* data, size_t filled, size_t capacity,
                                     bool& skipping) {
  NdjsonFrames f;
  const char* last_nl = static_cast<const char*>(memrchr(data, '\n', filled));
  if (!last_nl) {
    if (filled == capacity) {  // a line longer than the buffer
      f.new_oversized = !skipping;
      skipping = true;
      f.discard_all = true;
    }
    return f;
  }
  if (skipping) {  // drop the rest of the oversized line
    const char* nl = static_cast<const char*>(std::memchr(data, '\n', filled));
    f.start = static_cast<size_t>(nl - data) + 1;
    f.skip_ended = true;
    skipping = false;
  }
  f.end = static_cast<size_t>(last_nl - data) + 1;
  return f;
}

}  // namespace triaged::plugins
