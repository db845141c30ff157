// The plugin API's ingest helpers, internal: the chained XXH3 that fingerprints and content
// hashes are made of (fingerprint.cpp), and the same for several events at once
// (batch_builder.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "triaged/api/event.h"

namespace triaged::api {

// Hashes `n` (at most kHashLanes) events keyed by the default key (source, resource, check and
// every label) at once: each one's fingerprint and content hash, the values fingerprintOf and
// contentHashOf(b, e, fingerprint) give. An event's hash is a chain, each step waiting for the
// one before; the chains of four events are independent, and stepping them in turn lets the
// processor overlap their steps (0.63x the time on the realistic stream). Labels must be
// sorted.
inline constexpr size_t kHashLanes = 4;
void hashDefaultKeys(const EventBatch& b, Event* const* events, size_t n);

}  // namespace triaged::api
