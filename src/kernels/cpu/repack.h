// The "rows8" weight layout that compiled x86-64 programs read (weights.bin,
// written by the exporter; the interpreter reads GGUF blocks as they are).
//
// A matrix of Q8_0, Q4_0, Q4_K or Q6_K blocks with a multiple of 8 rows is
// stored as groups of 8 rows; a group holds, for each block column i, one
// tile with the 8 rows' block i side by side, so that one 32-byte load yields
// 4 bytes of each of 8 rows and a byte dot product (VNNI vpdpbusd, or
// maddubs+madd) leaves one row per 32-bit lane: no horizontal sums, one
// weight stream. A "chunk" below is [row 0..7][4 bytes] (32 bytes).
//   Q8_0 tile (272 bytes): uint16 d[8]; then 8 chunks j holding levels
//        4j..4j+3, stored as level + 128 (unsigned bytes).
//   Q4_0 tile (144 bytes): uint16 d[8]; then 4 chunks j holding qs bytes
//        4j..4j+3 (low nibbles: elements 4j.., high: 16+4j..).
//   Q4_K tile (1152 bytes): uint16 d[8], dmin[8]; the packed 6-bit scales
//        and mins as 3 words a row, word k of the 8 rows side by side
//        (uint32 [3][8]); then 32 chunks m holding qs bytes 4m..4m+3.
//   Q6_K tile (1680 bytes): uint16 d[8]; int8 scales [16 groups][8 rows];
//        32 chunks (half h, m = 0..15) of ql bytes 64h+4m..; 16 chunks
//        (half h, m = 0..7) of qh bytes 32h+4m...
// The matrix keeps its size (8 rows of a group take 8 row sizes).
#pragma once

#include <cstddef>
#include <cstdint>

#include "format/ggml_types.h"

namespace forge::kernels::cpu {

inline constexpr int64_t kRows8 = 8;
// The kernels keep per-block activation facts on the stack: rows up to this long.
inline constexpr int64_t kRows8MaxCols = 65536;

// Whether a rows x cols matrix of `type` can take the rows8 layout.
bool rows8_supported(GgmlType type, int64_t rows, int64_t cols);

// Rows [0, 8) of a group: 8 consecutive plain rows (row_bytes apart) ->
// one group (8 * row_bytes bytes) of the rows8 layout.
void repack_rows8_group(GgmlType type, int64_t cols, const uint8_t* rows, size_t row_bytes, uint8_t* group);

// Row `row` of a rows8 matrix starting at `base` -> cols floats, the values
// quant::dequantize_row gives for the plain row.
void dequantize_rows8_row(GgmlType type, int64_t cols, const uint8_t* base, int64_t row, float* out);

}  // namespace forge::kernels::cpu
