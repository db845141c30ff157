// libFuzzer harness for the framing of the stream inputs as a connection reads them: the input
// arrives in reads of sizes the first bytes choose, each read appended to what the previous left
// over.
// - syslog over TCP (RFC 6587 octet counting and newline frames): a split never consumes more
//   than it was given; every message lies inside the buffer; a split that drops consumes
//   everything; the whole stream read at once yields the same messages as read in pieces when
//   nothing was dropped.
// - NDJSON over TCP, into a buffer of a size the input chooses: the lines decoded, with their
//   line numbers, and the lines dropped as too large are exactly those of splitting the whole
//   stream at its newlines (a line is dropped when it is at least as long as the buffer).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "inputs/ndjson_tcp/ndjson_framing.h"
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

using Line = std::pair<int64_t, std::string>;  // line number, text

// NDJSON read in pieces into a buffer of `cap` bytes, as ndjson_tcp's connection does: each
// read is framed; at the end of the stream a last line without its newline gets one.
std::vector<Line> ndjsonPieces(std::string_view data, const std::vector<size_t>& reads, size_t cap,
                               size_t* dropped) {
  std::vector<Line> out;
  std::vector<char> buf(cap + 1);
  size_t filled = 0, at = 0, r = 0;
  bool skipping = false;
  int64_t line = 1;
  *dropped = 0;
  auto frame = [&] {
    NdjsonFrames f = nextNdjsonFrames(buf.data(), filled, cap, skipping);
    if (f.new_oversized) ++*dropped;
    if (f.discard_all) filled = 0;
    if (f.end == 0) return;
    if (f.start > f.end || f.end > filled) std::abort();
    if (f.skip_ended) ++line;
    size_t from = f.start;
    for (size_t k = f.start; k < f.end; ++k)
      if (buf[k] == '\n') {
        out.emplace_back(line++, std::string(buf.data() + from, k - from));
        from = k + 1;
      }
    std::memmove(buf.data(), buf.data() + f.end, filled - f.end);
    filled -= f.end;
  };
  while (at < data.size()) {
    size_t room = cap - filled;
    if (room == 0) std::abort();  // the framing left no room to read into
    size_t n = reads.empty() ? room : std::max<size_t>(1, reads[r++ % reads.size()]);
    n = std::min({n, room, data.size() - at});
    std::memcpy(buf.data() + filled, data.data() + at, n);
    filled += n;
    at += n;
    frame();
  }
  if (filled > 0 && !skipping) {
    buf[filled++] = '\n';
    frame();
  }
  return out;
}

// The same from the whole stream at once: lines at least `cap` long are dropped.
std::vector<Line> ndjsonWhole(std::string_view data, size_t cap, size_t* dropped) {
  std::vector<Line> out;
  *dropped = 0;
  int64_t line = 1;
  size_t from = 0;
  while (from < data.size()) {
    size_t nl = data.find('\n', from);
    size_t end = nl == std::string_view::npos ? data.size() : nl;
    if (end - from >= cap)
      ++*dropped;
    else
      out.emplace_back(line, std::string(data.substr(from, end - from)));
    ++line;
    from = end + 1;
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
  size_t cap = 8 + data[size - 1] % 120;
  size_t dropped_pieces = 0, dropped_whole = 0;
  if (ndjsonPieces(text, reads, cap, &dropped_pieces) != ndjsonWhole(text, cap, &dropped_whole) ||
      dropped_pieces != dropped_whole)
    std::abort();
  return 0;
}
