// libFuzzer harness for the framing of syslog over TCP (RFC 6587 octet counting and newline
// frames), as a connection reads it: the input arrives in reads of sizes the first bytes choose,
// each read appended to what the previous left over. Invariants: a split never consumes more
// than it was given; every message lies inside the buffer; a split
// that drops consumes everything; the whole stream read at once yields the same messages as
// read in pieces when nothing was dropped.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "inputs/syslog/syslog_parser.h"

using namespace triaged::plugins;

namespace {

constexpr uint64_t kMax = 512;

// Splits `data` read in pieces; returns the messages, and whether anything was dropped.
std::vector<std::string> split(std::string_view data, const std::vector<size_t>& reads,
                               bool* any_drop) {
  std::vector<std::string> out;
  std::string buf;
  size_t at = 0, r = 0;
  *any_drop = false;
  while (at < data.size()) {
    size_t n = reads.empty() ? data.size() : std::max<size_t>(1, reads[r++ % reads.size()]);
    n = std::min(n, data.size() - at);
    buf.append(data.substr(at, n));
    at += n;
    FrameDrop dropped;
    size_t used = splitSyslogFrames(
        buf, kMax,
        [&](std::string_view m) {
          if (m.data() < buf.data() || m.data() + m.size() > buf.data() + buf.size()) std::abort();
          out.emplace_back(m);
        },
        &dropped);
    if (used > buf.size()) std::abort();
    if (dropped != FrameDrop::kNone) {
      *any_drop = true;
      if (used != buf.size()) std::abort();
    }
    buf.erase(0, used);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  std::vector<size_t> reads;
  size_t k = data[0] % 8;
  for (size_t i = 0; i < k && 1 + i < size; ++i) reads.push_back(data[1 + i]);
  std::string_view text(reinterpret_cast<const char*>(data) + 1 + k, size - std::min(size, 1 + k));
  bool drop_pieces = false, drop_whole = false;
  auto pieces = split(text, reads, &drop_pieces);
  auto whole = split(text, {}, &drop_whole);
  if (!drop_pieces && !drop_whole && pieces != whole) std::abort();
  return 0;
}
