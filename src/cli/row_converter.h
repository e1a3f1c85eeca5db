// Writes a matrix in any GGML type the quant layer supports from rows of
// floats produced on demand, in parallel over rows. Only a few rows per thread
// are ever held as floats, so a tensor of any size streams through.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "format/ggml_types.h"
#include "interp/thread_pool.h"

namespace forge::cli {

// Fills row `row` (n_per_row floats) into `dst`. Called from several threads
// at once; must not throw.
using RowSource = std::function<void(int64_t row, float* dst)>;

// `out` holds n_rows rows of `to` (quant::row_size bytes each). `to` must be
// supported by forge::quant and n_per_row a multiple of its block size.
void convert_rows(interp::ThreadPool& pool, GgmlType to, int64_t n_per_row, int64_t n_rows, const RowSource& source,
                  std::span<uint8_t> out);

}  // namespace forge::cli
