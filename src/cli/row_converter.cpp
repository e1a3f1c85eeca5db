#include "cli/row_converter.h"

#include <algorithm>
#include <vector>

#include "quant/quant.h"

namespace forge::cli {

void convert_rows(interp::ThreadPool& pool, GgmlType to, int64_t n_per_row, int64_t n_rows, const RowSource& source,
                  std::span<uint8_t> out) {
  const size_t row_bytes = quant::row_size(to, n_per_row);
  // Chunks of at least 16K elements (llama.cpp's min_chunk_size of 32 * 512)
  // keep the per-task overhead small next to the quantization work.
  const int64_t rows_per_chunk = std::max<int64_t>(1, (32 * 512) / std::max<int64_t>(1, n_per_row));
  const int64_t n_chunks = (n_rows + rows_per_chunk - 1) / rows_per_chunk;
  pool.parallel_for(n_chunks, [&](int64_t c) {
    std::vector<float> buf(static_cast<size_t>(n_per_row));
    const int64_t r1 = std::min(n_rows, (c + 1) * rows_per_chunk);
    for (int64_t r = c * rows_per_chunk; r < r1; ++r) {
      source(r, buf.data());
      quant::quantize_row(to, buf.data(), out.data() + static_cast<size_t>(r) * row_bytes, n_per_row);
    }
  });
}

}  // namespace forge::cli
