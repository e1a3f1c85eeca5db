// Passes over the op graph: each a small function from graph to graph that
// keeps the numbers the interpreter computes (tests/compile/passes_test.cpp
// runs both graphs). optimize() is the pipeline every executor runs.
#pragma once

#include "graph/graph.h"

namespace forge::graph::passes {

// Joins consecutive MatMulOps that read the same input into one op (Q/K/V,
// gate/up) when their weights take the same activation format
// (quant::vec_dot_type), so the input is quantized once and all rows run in
// one parallel loop. Mixed formats stay separate ops.
Graph fuse_matmuls(Graph g);

// `x += r; y = norm(x)` (an AddOp directly followed by a norm of its result)
// becomes one NormOp with `residual = r`. A tail norm is left alone: tail ops
// run on fewer rows than the add.
Graph fuse_residual_norms(Graph g);

// Folds a norm's weight offset (gemma's (1 + w)) into a copy of the weight:
// the sum is the same float addition the norm would do per token, so the
// result is exact. Only F32 weights without bias changes are touched.
Graph fold_norm_offsets(Graph g);

// Multiplies an F32 embedding table by the embedding scale (gemma's
// sqrt(n_embd)) ahead of time: exactly the product the embed op would form.
// Quantized tables keep the run-time scale (scaling their blocks is not exact).
Graph fold_embed_scale(Graph g);

// fuse_matmuls, fuse_residual_norms, fold_norm_offsets, fold_embed_scale.
Graph optimize(Graph g);

}  // namespace forge::graph::passes
