// The GGML tensor types as GGUF files number them: id, name, block size and
// bytes per block. The numbering and sizes follow ggml's public `ggml.h`
// (enum ggml_type) and the block structs of `ggml-common.h`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace forge {

enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  // 4 (Q4_2) and 5 (Q4_3) were removed from ggml.
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  // 31..33 (Q4_0_4_4, Q4_0_4_8, Q4_0_8_8) were removed from ggml.
  TQ1_0 = 34,
  TQ2_0 = 35,
  // 36..38 (IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8) were removed from ggml.
  MXFP4 = 39,
};

struct GgmlTypeInfo {
  GgmlType type;
  std::string_view name;   // as ggml spells it: "q4_K", "bf16"
  int64_t block_size;      // elements per block
  size_t type_size;        // bytes per block
  bool computable;         // Forge can dequantize / compute with it
};

// Information about a type id read from a file. std::nullopt for an id that
// names no type (never assigned, or removed from ggml: see `ggml_removed_type_name`).
std::optional<GgmlTypeInfo> ggml_type_info(uint32_t id);

// Same, for a known enum value (always present).
const GgmlTypeInfo& ggml_type_info(GgmlType type);

// For ids that ggml once had and removed: their old name ("q4_0_4_4"), else empty.
std::string_view ggml_removed_type_name(uint32_t id);

// Parses a type name as users write it ("Q4_K", "q8_0", "bf16"); case-insensitive.
std::optional<GgmlType> ggml_type_from_name(std::string_view name);

// Bytes of one row of `n` elements; `n` must be a multiple of the block size.
inline size_t ggml_row_size(const GgmlTypeInfo& t, int64_t n) {
  return static_cast<size_t>(n / t.block_size) * t.type_size;
}

}  // namespace forge
