// The memory plan: every intermediate of a graph gets a fixed byte offset in
// one arena sized at compile time for `max_batch` tokens per step. A buffer
// name is reused by every layer, so liveness works on its live ranges (from
// an op that writes it without reading it to the last op that reads that
// value); two ranges share bytes when they are never live at once.
#pragma once

#include <cstddef>
#include <vector>

#include "graph/graph.h"

namespace forge::graph::passes {

struct LiveRange {
  int buffer = -1;
  int first_op = 0;  // op that defines the value
  int last_op = 0;   // last op that reads (or updates) it
  size_t offset = 0; // bytes from the arena start, 64-byte aligned
  size_t bytes = 0;  // max_batch rows of the buffer's width
};

struct MemoryPlan {
  int max_batch = 0;
  size_t arena_bytes = 0;
  std::vector<LiveRange> ranges;

  // The offset of `buffer` as op `op` sees it.
  size_t offset(int op, int buffer) const;
  // Bytes the graph would take with one region per buffer (no reuse).
  size_t unshared_bytes = 0;
};

// Buffers an op reads and writes (an in-place update is both).
struct OpAccess {
  std::vector<int> reads, writes;
};
OpAccess op_access(const Op& op);

MemoryPlan plan_memory(const Graph& g, int max_batch);

}  // namespace forge::graph::passes
