// The plugin API's ingest helpers (triaged/api/ingest.h), part: Fingerprints and content hashes of
// events (xxHash, chained).
#include <algorithm>

#include "hash_chain.h"
#include "triaged/api/ingest.h"

// Inlined: most inputs are a few bytes, where a library call costs more than the hash.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace triaged::api {

namespace {

// Hashes are chained: each string is hashed with the running hash (and its length) as the seed.
// No buffer is assembled and every string is read once; the length in the seed keeps
// ("ab","c") and ("a","bc") apart.
inline uint64_t chain(uint64_t h, std::string_view s) {
  return XXH3_64bits_withSeed(s.data(), s.size(), h ^ (s.size() * 0x9E3779B97F4A7C15ULL));
}

// The same step with XXH3's paths for up to 128 bytes inline (XXH3_64bits_withSeed takes exactly
// these, as a call). Four chains stepped in turn take 0.63x the time of chain() one event at a
// time on the realistic stream (BM_HashRealistic*); with the call they took 0.88-0.90x on
// synthetic events, and one chain alone is no faster inline (bench/RESULTS.md, twenty-second
// stop).
inline uint64_t chainInline(uint64_t h, const char* data, size_t size) {
  const uint64_t seed = h ^ (size * 0x9E3779B97F4A7C15ULL);
  const auto* p = reinterpret_cast<const xxh_u8*>(data);
  if (size <= 16) return XXH3_len_0to16_64b(p, size, XXH3_kSecret, seed);
  if (size <= 128) return XXH3_len_17to128_64b(p, size, XXH3_kSecret, sizeof(XXH3_kSecret), seed);
  return XXH3_64bits_withSeed(data, size, seed);
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  for (const auto& x : v)
    if (x == s) return true;
  return false;
}

}  // namespace

uint64_t fingerprintOf(const EventBatch& b, const Event& e, const FingerprintOptions& o) {
  if (!e.dedup_key.empty()) {
    // An explicit key (PagerDuty dedup_key, Alertmanager fingerprint) wins; scoped by source
    // so that two inputs never collide.
    return chain(chain(0x01, e.source), e.dedup_key);
  }
  uint64_t h = 0x02;
  h = chain(h, o.source ? e.source : std::string_view{});
  h = chain(h, o.resource ? e.resource : std::string_view{});
  h = chain(h, o.check ? e.check : std::string_view{});
  const Label* l = b.labelsOf(e);
  const bool filter = !o.all_labels || !o.ignore_labels.empty();
  for (uint32_t i = 0; i < e.labels_count; ++i) {  // sorted by name: order-independent
    if (filter &&
        (o.all_labels ? contains(o.ignore_labels, l[i].name) : !contains(o.labels, l[i].name)))
      continue;
    h = chain(chain(h, l[i].name), l[i].value);
  }
  return h;
}

uint64_t contentHashOf(const EventBatch& b, const Event& e) {
  // Every field and label, also when an explicit key (which wins in fingerprintOf) is the
  // identity: under the same dedup_key the labels may change, and that is a change.
  static const FingerprintOptions kEverything;
  Event all = e;
  all.dedup_key = {};
  return contentHashOf(b, e, fingerprintOf(b, all, kEverything));
}

void hashDefaultKeys(const EventBatch& b, Event* const* events, size_t n) {
  // Each lane's strings in the order fingerprintOf and contentHashOf chain them: source,
  // resource, check, each label's name and value (the fingerprint is the chain so far), then
  // service, summary, description, dedup_key and each annotation's name and value.
  constexpr size_t kMaxSteps = 3 + 4 + 2 * 128;
  // Left uninitialized (a string_view array would be zeroed: 16 KiB of stores a call); each
  // lane writes the steps it reads.
  struct Step {
    const char* data;
    size_t size;
    Step& operator=(std::string_view s) {
      data = s.data();
      size = s.size();
      return *this;
    }
  };
  Step steps[kHashLanes][kMaxSteps];
  size_t len[kHashLanes] = {}, fp_at[kHashLanes] = {};
  uint64_t h[kHashLanes], fp[kHashLanes] = {};
  size_t longest = 0;
  for (size_t k = 0; k < n; ++k) {
    Event& e = *events[k];
    if (3 + 4 + 2 * (size_t{e.labels_count} + e.annotations_count) > kMaxSteps) {
      // More labels than any sender has: one at a time.
      e.fingerprint = fingerprintOf(b, e, FingerprintOptions{});
      e.content_hash = contentHashOf(b, e, e.fingerprint);
      continue;
    }
    auto* s = steps[k];
    size_t i = 0;
    s[i++] = e.source;
    s[i++] = e.resource;
    s[i++] = e.check;
    const Label* l = b.labelsOf(e);
    for (uint32_t j = 0; j < e.labels_count; ++j) {
      s[i++] = l[j].name;
      s[i++] = l[j].value;
    }
    fp_at[k] = i;
    s[i++] = e.service;
    s[i++] = e.summary;
    s[i++] = e.description;
    s[i++] = e.dedup_key;
    const Label* a = b.annotationsOf(e);
    for (uint32_t j = 0; j < e.annotations_count; ++j) {
      s[i++] = a[j].name;
      s[i++] = a[j].value;
    }
    len[k] = i;
    longest = std::max(longest, i);
  }
  for (size_t k = 0; k < kHashLanes; ++k) h[k] = 0x02;
  for (size_t i = 0; i < longest; ++i) {
    // Unrolled by the compiler (kHashLanes is a constant): four independent chains in turn.
    for (size_t k = 0; k < kHashLanes; ++k) {
      if (i >= len[k]) continue;
      if (i == fp_at[k]) fp[k] = h[k];
      h[k] = chainInline(h[k], steps[k][i].data, steps[k][i].size);
    }
  }
  for (size_t k = 0; k < n; ++k) {
    if (len[k] == 0) continue;  // hashed above, alone
    events[k]->fingerprint = fp[k];
    events[k]->content_hash = h[k];
  }
}

uint64_t contentHashOf(const EventBatch& b, const Event& e, uint64_t identity) {
  uint64_t h = identity;
  for (auto s : {e.service, e.summary, e.description, e.dedup_key}) h = chain(h, s);
  const Label* a = b.annotationsOf(e);
  for (uint32_t i = 0; i < e.annotations_count; ++i) h = chain(chain(h, a[i].name), a[i].value);
  return h;
}

}  // namespace triaged::api
