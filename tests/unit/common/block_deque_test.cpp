// The block deque the correlator keeps its incidents in (common/block_deque.h).
#include "common/block_deque.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

using triaged::engine::BlockDeque;
using triaged::engine::kHugePage;

namespace {

// Counts the objects alive: every one constructed is destroyed once.
struct Counted {
  static inline int alive = 0;
  std::string text;
  explicit Counted(std::string t = {}) : text(std::move(t)) { ++alive; }
  Counted(Counted&& o) noexcept : text(std::move(o.text)) { ++alive; }
  Counted& operator=(Counted&&) = default;
  ~Counted() { --alive; }
};

}  // namespace

TEST_CASE(
    "A block deque adds at the back, drops from the front and finds by index, across blocks, "
    "and its elements stay where they are",
    "[block_deque]") {
  Counted::alive = 0;
  {
    BlockDeque<Counted, 4> d;
    CHECK(d.empty());
    std::vector<const Counted*> at;
    for (int i = 0; i < 10; ++i)
      at.push_back(&d.emplace_back("a string long enough to allocate " + std::to_string(i)));
    CHECK(d.size() == 10);
    CHECK(Counted::alive == 10);
    for (int i = 0; i < 10; ++i) {
      CHECK(&d[i] == at[i]);  // never moved by later additions
      CHECK(d[i].text == "a string long enough to allocate " + std::to_string(i));
    }
    CHECK(d.front().text.back() == '0');
    CHECK(d.back().text.back() == '9');
    // Dropping from the front: past a block's end, the indexes still name what is left.
    for (int i = 0; i < 5; ++i) d.pop_front();
    CHECK(d.size() == 5);
    CHECK(Counted::alive == 5);
    CHECK(&d[0] == at[5]);
    CHECK(&d.back() == at[9]);
    std::string seen;
    for (const auto& c : d) seen += c.text.back();
    CHECK(seen == "56789");
    // Grown and shrunk by resize (at the back), then emptied.
    d.resize(7);
    CHECK(d.size() == 7);
    CHECK(d[6].text.empty());
    d.resize(3);
    CHECK(d.size() == 3);
    CHECK(Counted::alive == 3);
    CHECK(d.back().text.back() == '7');
    while (!d.empty()) d.pop_front();
    CHECK(Counted::alive == 0);
    d.emplace_back("again");  // starts afresh
    CHECK(d[0].text == "again");
    d.emplace_back("and more");
    d.clear();
    CHECK(d.empty());
    CHECK(Counted::alive == 0);
    d.emplace_back("left for the destructor");
  }
  CHECK(Counted::alive == 0);
}

TEST_CASE("A block deque's block of 2 MiB is mapped on its own, aligned to a huge page",
          "[block_deque]") {
  BlockDeque<uint64_t, kHugePage / sizeof(uint64_t)> d;
  for (uint64_t i = 0; i < kHugePage / sizeof(uint64_t) + 3; ++i) d.emplace_back(i);
  CHECK(reinterpret_cast<uintptr_t>(&d[0]) % kHugePage == 0);
  CHECK(reinterpret_cast<uintptr_t>(&d[kHugePage / sizeof(uint64_t)]) % kHugePage == 0);
  CHECK(d.back() == kHugePage / sizeof(uint64_t) + 2);
  uint64_t sum = 0;
  for (uint64_t v : d) sum += v;
  const uint64_t n = d.size();
  CHECK(sum == n * (n - 1) / 2);
  for (uint64_t i = 0; i < kHugePage / sizeof(uint64_t); ++i)
    d.pop_front();  // the first block freed
  CHECK(d.size() == 3);
  CHECK(d.front() == kHugePage / sizeof(uint64_t));
}
