#include "kernels/cpu/repack.h"

#include <vector>

#include "quant/quant.h"

namespace forge::kernels::cpu {

namespace {

constexpr size_t kChunk = 32;  // [row 0..7][4 bytes]

// Where the bytes of row r's block lie in its tile (repack.h); `flip`: the
// piece's bytes are stored XOR 0x80 (Q8_0 levels + 128).
struct Piece {
  size_t tile, block, n;
  bool flip = false;
};
std::vector<Piece> tile_map(GgmlType type, int r) {
  const size_t rr = static_cast<size_t>(r);
  std::vector<Piece> p;
  switch (type) {
    case GgmlType::Q8_0:  // block: d, qs[32]
      p.push_back({2 * rr, 0, 2});
      for (size_t j = 0; j < 8; ++j) p.push_back({16 + kChunk * j + 4 * rr, 2 + 4 * j, 4, true});
      break;
    case GgmlType::Q4_0:  // block: d, qs[16]
      p.push_back({2 * rr, 0, 2});
      for (size_t j = 0; j < 4; ++j) p.push_back({16 + kChunk * j + 4 * rr, 2 + 4 * j, 4});
      break;
    case GgmlType::Q4_K:  // block: d, dmin, scales[12], qs[128]
      p.push_back({2 * rr, 0, 2});
      p.push_back({16 + 2 * rr, 2, 2});
      for (size_t w = 0; w < 3; ++w) p.push_back({32 + 32 * w + 4 * rr, 4 + 4 * w, 4});
      for (size_t m = 0; m < 32; ++m) p.push_back({128 + kChunk * m + 4 * rr, 16 + 4 * m, 4});
      break;
    default:  // Q6_K block: ql[128], qh[64], scales[16], d
      p.push_back({2 * rr, 208, 2});
      for (size_t g = 0; g < 16; ++g) p.push_back({16 + 8 * g + rr, 192 + g, 1});
      for (size_t h = 0; h < 2; ++h) {
        for (size_t m = 0; m < 16; ++m) p.push_back({144 + kChunk * (16 * h + m) + 4 * rr, 64 * h + 4 * m, 4});
        for (size_t m = 0; m < 8; ++m) p.push_back({1168 + kChunk * (8 * h + m) + 4 * rr, 128 + 32 * h + 4 * m, 4});
      }
      break;
  }
  return p;
}

void copy_piece(const uint8_t* from, uint8_t* to, const Piece& p) {
  for (size_t k = 0; k < p.n; ++k) to[k] = p.flip ? static_cast<uint8_t>(from[k] ^ 0x80) : from[k];
}

}  // namespace

bool rows8_supported(GgmlType type, int64_t rows, int64_t cols) {
  const bool k = type == GgmlType::Q4_K || type == GgmlType::Q6_K;
  const bool q32 = type == GgmlType::Q8_0 || type == GgmlType::Q4_0;
  return (k || q32) && rows > 0 && rows % kRows8 == 0 && cols > 0 && cols % (k ? 256 : 32) == 0 &&
         cols <= kRows8MaxCols;
}

void repack_rows8_group(GgmlType type, int64_t cols, const uint8_t* rows, size_t row_bytes, uint8_t* group) {
  const size_t bb = ggml_type_info(type).type_size;
  const int64_t nb = cols / quant::block_size(type);
  for (int r = 0; r < kRows8; ++r) {
    const std::vector<Piece> map = tile_map(type, r);
    for (int64_t i = 0; i < nb; ++i) {
      for (const Piece& p : map) copy_piece(rows + r * row_bytes + i * bb + p.block, group + i * 8 * bb + p.tile, p);
    }
  }
}

void dequantize_rows8_row(GgmlType type, int64_t cols, const uint8_t* base, int64_t row, float* out) {
  const size_t bb = ggml_type_info(type).type_size;
  const int64_t bs = quant::block_size(type);
  const uint8_t* group = base + (row / kRows8) * kRows8 * quant::row_size(type, cols);
  const std::vector<Piece> map = tile_map(type, static_cast<int>(row % kRows8));
  std::vector<uint8_t> block(bb);  // one block back in the GGUF layout
  for (int64_t i = 0; i < cols / bs; ++i) {
    for (const Piece& p : map) copy_piece(group + i * 8 * bb + p.tile, block.data() + p.block, p);
    quant::dequantize_row(type, block.data(), out + i * bs, bs);
  }
}

}  // namespace forge::kernels::cpu
