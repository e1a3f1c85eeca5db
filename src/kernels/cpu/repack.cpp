#include "kernels/cpu/repack.h"

#include <algorithm>
#include <vector>

#include "quant/blocks.h"
#include "quant/quant.h"

namespace forge::kernels::cpu {

namespace {

constexpr size_t kChunk = 32;  // [row 0..7][4 bytes]

// Where the bytes of row r's K-quant block lie in its tile.
struct Piece {
  size_t tile, block, n;
};
std::vector<Piece> k_tile_map(GgmlType type, int r) {
  const size_t rr = static_cast<size_t>(r);
  std::vector<Piece> p;
  if (type == GgmlType::Q4_K) {  // block: d, dmin, scales[12], qs[128]
    p.push_back({2 * rr, 0, 2});
    p.push_back({16 + 2 * rr, 2, 2});
    for (size_t w = 0; w < 3; ++w) p.push_back({32 + 32 * w + 4 * rr, 4 + 4 * w, 4});
    for (size_t m = 0; m < 32; ++m) p.push_back({128 + kChunk * m + 4 * rr, 16 + 4 * m, 4});
  } else {  // Q6_K block: ql[128], qh[64], scales[16], d
    p.push_back({2 * rr, 208, 2});
    for (size_t g = 0; g < 16; ++g) p.push_back({16 + 8 * g + rr, 192 + g, 1});
    for (size_t h = 0; h < 2; ++h) {
      for (size_t m = 0; m < 16; ++m) p.push_back({144 + kChunk * (16 * h + m) + 4 * rr, 64 * h + 4 * m, 4});
      for (size_t m = 0; m < 8; ++m) p.push_back({1168 + kChunk * (8 * h + m) + 4 * rr, 128 + 32 * h + 4 * m, 4});
    }
  }
  return p;
}

size_t block_bytes(GgmlType type) { return ggml_type_info(type).type_size; }

}  // namespace

bool rows8_supported(GgmlType type, int64_t rows, int64_t cols) {
  const bool k = type == GgmlType::Q4_K || type == GgmlType::Q6_K;
  const bool q32 = type == GgmlType::Q8_0 || type == GgmlType::Q4_0;
  return (k || q32) && rows > 0 && rows % kRows8 == 0 && cols > 0 && cols % (k ? 256 : 32) == 0 &&
         cols <= kRows8MaxCols;
}

void repack_rows8_group(GgmlType type, int64_t cols, const uint8_t* rows, size_t row_bytes, uint8_t* group) {
  if (type == GgmlType::Q4_K || type == GgmlType::Q6_K) {
    const size_t bb = block_bytes(type);
    for (int r = 0; r < kRows8; ++r) {
      const std::vector<Piece> map = k_tile_map(type, r);
      for (int64_t i = 0; i < cols / 256; ++i) {
        const uint8_t* block = rows + r * row_bytes + i * bb;
        for (const Piece& p : map) std::copy_n(block + p.block, p.n, group + i * 8 * bb + p.tile);
      }
    }
    return;
  }
  const int64_t nb = cols / 32;
  const bool q8 = type == GgmlType::Q8_0;
  const size_t block = q8 ? sizeof(quant::BlockQ8_0) : sizeof(quant::BlockQ4_0);
  for (int64_t i = 0; i < nb; ++i) {
    uint8_t* tile = group + i * 8 * block;
    for (int r = 0; r < kRows8; ++r) {
      const uint8_t* src = rows + r * row_bytes + i * block;  // d (2 bytes), then the levels
      tile[2 * r] = src[0];
      tile[2 * r + 1] = src[1];
      if (q8) {
        for (int e = 0; e < 32; ++e) tile[16 + (e / 4) * 32 + r * 4 + e % 4] = static_cast<uint8_t>(src[2 + e] ^ 0x80);
      } else {
        for (int k = 0; k < 16; ++k) tile[16 + (k / 4) * 32 + r * 4 + k % 4] = src[2 + k];
      }
    }
  }
}

void dequantize_rows8_row(GgmlType type, int64_t cols, const uint8_t* base, int64_t row, float* out) {
  if (type == GgmlType::Q4_K || type == GgmlType::Q6_K) {
    const size_t bb = block_bytes(type);
    const uint8_t* group = base + (row / kRows8) * kRows8 * quant::row_size(type, cols);
    const std::vector<Piece> map = k_tile_map(type, static_cast<int>(row % kRows8));
    std::vector<uint8_t> block(bb);
    for (int64_t i = 0; i < cols / 256; ++i) {
      for (const Piece& p : map) std::copy_n(group + i * 8 * bb + p.tile, p.n, block.data() + p.block);
      quant::dequantize_row(type, block.data(), out + i * 256, 256);
    }
    return;
  }
  const int64_t nb = cols / 32;
  const bool q8 = type == GgmlType::Q8_0;
  const size_t block = q8 ? sizeof(quant::BlockQ8_0) : sizeof(quant::BlockQ4_0);
  const uint8_t* group = base + (row / kRows8) * kRows8 * quant::row_size(type, cols);
  const int r = static_cast<int>(row % kRows8);
  uint8_t plain[sizeof(quant::BlockQ8_0)];  // one block back in the GGUF layout
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* tile = group + i * 8 * block;
    plain[0] = tile[2 * r];
    plain[1] = tile[2 * r + 1];
    if (q8) {
      for (int e = 0; e < 32; ++e) plain[2 + e] = static_cast<uint8_t>(tile[16 + (e / 4) * 32 + r * 4 + e % 4] ^ 0x80);
    } else {
      for (int k = 0; k < 16; ++k) plain[2 + k] = tile[16 + (k / 4) * 32 + r * 4 + k % 4];
    }
    quant::dequantize_row(type, plain, out + i * 32, 32);
  }
}

}  // namespace forge::kernels::cpu
