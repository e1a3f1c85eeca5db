// A 64-bit fingerprint of a graph's structure: every op with its buffers and
// constants, every weight's name, type and shape, the model's dimensions. A
// compiled program and its weights file carry it; a mismatch means the
// weights were exported for another model or another build of it.
#pragma once

#include <cstdint>

#include "graph/graph.h"

namespace forge::graph::passes {

uint64_t graph_fingerprint(const Graph& g);

}  // namespace forge::graph::passes
