// The CUDA target's layout of Q8_0 and Q4_0 matrices in weights.bin ("split
// rows"; the exporter writes it, the CUDA kernels read it, the interpreter
// keeps reading GGUF blocks). A row of K weights holds its blocks' quants
// first (Q8_0: 32 int8 levels a block, K bytes; Q4_0: the block's 16 nibble
// bytes as in the GGUF, K / 2 bytes), then the blocks' F16 scales (K / 32
// halves), then zeros up to a multiple of 16 bytes.
//
// Why: a GGUF block is 34 or 18 bytes, so its quants are only 2-byte
// aligned, and a GPU warp reading a row in 16-byte pieces (the width that
// reaches the memory bandwidth) had to stage it through shared memory. Split,
// every 16-byte piece of quants is aligned, one piece is half a Q8_0 block or
// a whole Q4_0 block, and the scales are one coalesced read. Rows whose block
// count is a multiple of 8 take no padding (the matrix keeps its size).
// Plain C++: the exporter (host) and the kernels (nvcc) share it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "format/ggml_types.h"

namespace forge::kernels::cuda {

constexpr bool split_type(GgmlType t) { return t == GgmlType::Q8_0 || t == GgmlType::Q4_0; }

// Bytes of a row's quants, and the distance from one row to the next.
constexpr int64_t split_quant_bytes(GgmlType t, int64_t cols) { return t == GgmlType::Q8_0 ? cols : cols / 2; }
constexpr int64_t split_row_stride(GgmlType t, int64_t cols) {
  return (split_quant_bytes(t, cols) + cols / 32 * 2 + 15) / 16 * 16;
}

// One GGUF row (cols / 32 blocks of `t`) -> one split row of
// split_row_stride(t, cols) bytes. cols: a multiple of 32.
inline void split_row(GgmlType t, int64_t cols, const uint8_t* blocks, uint8_t* out) {
  const int64_t nb = cols / 32;
  const size_t qb = t == GgmlType::Q8_0 ? 32 : 16;  // quant bytes a block
  const size_t block = qb + 2;                      // the GGUF block: F16 scale, then quants
  const int64_t quants = split_quant_bytes(t, cols);
  std::memset(out, 0, static_cast<size_t>(split_row_stride(t, cols)));
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* src = blocks + b * block;
    std::memcpy(out + b * qb, src + 2, qb);
    std::memcpy(out + quants + 2 * b, src, 2);
  }
}

}  // namespace forge::kernels::cuda
