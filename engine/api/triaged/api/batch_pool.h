// Batches the pipeline is done with, kept for the batches inputs build next. A kept batch
// keeps its events' and labels' capacity and its arena's first block, so the next batch is
// built into memory that is already mapped (and often still cached) instead of vectors that
// grow by doubling into fresh pages, and a batch applied by the shards frees nothing.
// Process-wide and thread-safe; bounded in batches and bytes (what it keeps is what glibc
// would otherwise keep in its arenas, minus the fragmentation of freeing on another thread).
#pragma once

#include <cstddef>
#include <memory>

#include "triaged/api/event.h"

namespace triaged::api::batch_pool {

inline constexpr size_t kMaxBatches = 16;
inline constexpr size_t kMaxBytes = 16 << 20;       // in all
inline constexpr size_t kMaxBatchBytes = 4 << 20;   // one batch larger than this is freed
inline constexpr size_t kMinBatchBytes = 32 << 10;  // and one smaller (one-event requests)

// A kept batch, emptied (its `input` as it was: set it), or a new one.
std::unique_ptr<EventBatch> take();
// Empties the batch and keeps it while the bounds allow; frees it otherwise.
void give(std::unique_ptr<EventBatch> batch);
// Frees every kept batch if take() was not called since the last call (the inputs are idle:
// what the pool keeps for a load need not stay resident without one); returns how many.
size_t releaseIdle();
// What the kept batches hold: their number and their capacity in bytes.
size_t keptBatches();
size_t keptBytes();
// The bytes a batch would keep (its vectors' capacity and its arena's first block).
size_t footprint(const EventBatch& b);

}  // namespace triaged::api::batch_pool
