#include "kernels/cpu/repack.h"

#include "quant/blocks.h"
#include "quant/quant.h"

namespace forge::kernels::cpu {

bool rows8_supported(GgmlType type, int64_t rows, int64_t cols) {
  return (type == GgmlType::Q8_0 || type == GgmlType::Q4_0) && rows > 0 && rows % kRows8 == 0 && cols > 0 &&
         cols % 32 == 0 && cols <= kRows8MaxCols;
}

void repack_rows8_group(GgmlType type, int64_t cols, const uint8_t* rows, size_t row_bytes, uint8_t* group) {
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
