#include "format/ggml_types.h"

#include <array>
#include <cctype>

namespace forge {
namespace {

// K-quant super-block size (ggml's QK_K).
constexpr int64_t kQK = 256;

// Sizes from ggml-common.h: e.g. block_q4_K = 2 halves (d, dmin) + 12 scale
// bytes + 128 nibble bytes = 144.
constexpr std::array kTypes = {
    GgmlTypeInfo{GgmlType::F32, "f32", 1, 4, true},
    GgmlTypeInfo{GgmlType::F16, "f16", 1, 2, true},
    GgmlTypeInfo{GgmlType::Q4_0, "q4_0", 32, 2 + 16, true},
    GgmlTypeInfo{GgmlType::Q4_1, "q4_1", 32, 2 + 2 + 16, true},
    GgmlTypeInfo{GgmlType::Q5_0, "q5_0", 32, 2 + 4 + 16, true},
    GgmlTypeInfo{GgmlType::Q5_1, "q5_1", 32, 2 + 2 + 4 + 16, true},
    GgmlTypeInfo{GgmlType::Q8_0, "q8_0", 32, 2 + 32, true},
    GgmlTypeInfo{GgmlType::Q8_1, "q8_1", 32, 2 + 2 + 32, true},
    GgmlTypeInfo{GgmlType::Q2_K, "q2_K", kQK, 16 + 64 + 2 + 2, true},
    GgmlTypeInfo{GgmlType::Q3_K, "q3_K", kQK, 32 + 64 + 12 + 2, true},
    GgmlTypeInfo{GgmlType::Q4_K, "q4_K", kQK, 2 + 2 + 12 + 128, true},
    GgmlTypeInfo{GgmlType::Q5_K, "q5_K", kQK, 2 + 2 + 12 + 32 + 128, true},
    GgmlTypeInfo{GgmlType::Q6_K, "q6_K", kQK, 128 + 64 + 16 + 2, true},
    GgmlTypeInfo{GgmlType::Q8_K, "q8_K", kQK, 4 + 256 + 32, true},
    GgmlTypeInfo{GgmlType::IQ2_XXS, "iq2_xxs", kQK, 2 + 64, false},
    GgmlTypeInfo{GgmlType::IQ2_XS, "iq2_xs", kQK, 2 + 64 + 8, false},
    GgmlTypeInfo{GgmlType::IQ3_XXS, "iq3_xxs", kQK, 2 + 96, false},
    GgmlTypeInfo{GgmlType::IQ1_S, "iq1_s", kQK, 2 + 32 + 16, false},
    GgmlTypeInfo{GgmlType::IQ4_NL, "iq4_nl", 32, 2 + 16, false},
    GgmlTypeInfo{GgmlType::IQ3_S, "iq3_s", kQK, 2 + 64 + 8 + 32 + 4, false},
    GgmlTypeInfo{GgmlType::IQ2_S, "iq2_s", kQK, 2 + 64 + 8 + 8, false},
    GgmlTypeInfo{GgmlType::IQ4_XS, "iq4_xs", kQK, 2 + 2 + 4 + 128, false},
    GgmlTypeInfo{GgmlType::I8, "i8", 1, 1, false},
    GgmlTypeInfo{GgmlType::I16, "i16", 1, 2, false},
    GgmlTypeInfo{GgmlType::I32, "i32", 1, 4, false},
    GgmlTypeInfo{GgmlType::I64, "i64", 1, 8, false},
    GgmlTypeInfo{GgmlType::F64, "f64", 1, 8, false},
    GgmlTypeInfo{GgmlType::IQ1_M, "iq1_m", kQK, 32 + 16 + 8, false},
    GgmlTypeInfo{GgmlType::BF16, "bf16", 1, 2, true},
    GgmlTypeInfo{GgmlType::TQ1_0, "tq1_0", kQK, 48 + 4 + 2, false},
    GgmlTypeInfo{GgmlType::TQ2_0, "tq2_0", kQK, 64 + 2, false},
    GgmlTypeInfo{GgmlType::MXFP4, "mxfp4", 32, 1 + 16, false},
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

}  // namespace

std::optional<GgmlTypeInfo> ggml_type_info(uint32_t id) {
  for (const auto& t : kTypes) {
    if (static_cast<uint32_t>(t.type) == id) return t;
  }
  return std::nullopt;
}

const GgmlTypeInfo& ggml_type_info(GgmlType type) {
  for (const auto& t : kTypes) {
    if (t.type == type) return t;
  }
  return kTypes[0];  // unreachable for valid enum values
}

std::string_view ggml_removed_type_name(uint32_t id) {
  switch (id) {
    case 4: return "q4_2";
    case 5: return "q4_3";
    case 31: return "q4_0_4_4";
    case 32: return "q4_0_4_8";
    case 33: return "q4_0_8_8";
    case 36: return "iq4_nl_4_4";
    case 37: return "iq4_nl_4_8";
    case 38: return "iq4_nl_8_8";
    default: return {};
  }
}

std::optional<GgmlType> ggml_type_from_name(std::string_view name) {
  for (const auto& t : kTypes) {
    if (iequals(t.name, name)) return t.type;
  }
  return std::nullopt;
}

}  // namespace forge
