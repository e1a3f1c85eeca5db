// The GGML weight formats: dequantize, reference quantize, reference dot
// products. Everything here is plain scalar C++; it is the numerical reference
// that the SIMD kernels in src/kernels/ are checked against.
//
// Dot products take the weight row in its own format and the activation row
// already quantized to the format's "vec dot type" (vec_dot_type()):
//   Q4_0, Q5_0, Q8_0, Q8_1 weights -> Q8_0 activations
//   Q4_1, Q5_1                      -> Q8_1 (its stored sum carries the min term)
//   Q2_K .. Q6_K, Q8_K              -> Q8_K
//   F32, F16, BF16                  -> F32 (activations stay in float: the
//                                     weights are widened, nothing is lost)
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "format/ggml_types.h"
#include "quant/blocks.h"

namespace forge::quant {

// Misuse of the dispatch API (a type Forge cannot compute with, a row length
// that is not a multiple of the block size). The typed functions never throw.
class QuantError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// True for the types this layer computes with (the 15 listed above).
bool is_supported(GgmlType type);
// The activation format a weight type's dot product takes.
GgmlType vec_dot_type(GgmlType weight_type);
// Elements per block and bytes of a row of n elements.
int64_t block_size(GgmlType type);
size_t row_size(GgmlType type, int64_t n);

// Type-dispatched entry points; they throw QuantError for an unsupported type
// or an n that is not a multiple of the block size.
void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n);
void quantize_row(GgmlType type, const float* src, void* dst, int64_t n);
// Dot product of a weight row of `weight_type` with an activation row in
// vec_dot_type(weight_type); n elements.
float vec_dot(GgmlType weight_type, int64_t n, const void* weights, const void* acts);

// Typed forms, n a multiple of BlockTraits<B>::kSize.
#define FORGE_DECLARE_FORMAT(B)                                    \
  void dequantize_row(const B* x, float* y, int64_t n);            \
  void quantize_row(const float* x, B* y, int64_t n);              \
  float vec_dot(const B* w, const BlockTraits<B>::Act* a, int64_t n);
FORGE_DECLARE_FORMAT(BlockF32)
FORGE_DECLARE_FORMAT(BlockF16)
FORGE_DECLARE_FORMAT(BlockBF16)
FORGE_DECLARE_FORMAT(BlockQ4_0)
FORGE_DECLARE_FORMAT(BlockQ4_1)
FORGE_DECLARE_FORMAT(BlockQ5_0)
FORGE_DECLARE_FORMAT(BlockQ5_1)
FORGE_DECLARE_FORMAT(BlockQ8_0)
FORGE_DECLARE_FORMAT(BlockQ8_1)
FORGE_DECLARE_FORMAT(BlockQ2_K)
FORGE_DECLARE_FORMAT(BlockQ3_K)
FORGE_DECLARE_FORMAT(BlockQ4_K)
FORGE_DECLARE_FORMAT(BlockQ5_K)
FORGE_DECLARE_FORMAT(BlockQ6_K)
FORGE_DECLARE_FORMAT(BlockQ8_K)
#undef FORGE_DECLARE_FORMAT

// Calls f(static_cast<const B*>(nullptr)) with the block type of `type`;
// returns false (and calls nothing) for an unsupported type.
template <class F>
bool visit_block_type(GgmlType type, F&& f) {
  switch (type) {
    case GgmlType::F32: f(static_cast<BlockF32*>(nullptr)); return true;
    case GgmlType::F16: f(static_cast<BlockF16*>(nullptr)); return true;
    case GgmlType::BF16: f(static_cast<BlockBF16*>(nullptr)); return true;
    case GgmlType::Q4_0: f(static_cast<BlockQ4_0*>(nullptr)); return true;
    case GgmlType::Q4_1: f(static_cast<BlockQ4_1*>(nullptr)); return true;
    case GgmlType::Q5_0: f(static_cast<BlockQ5_0*>(nullptr)); return true;
    case GgmlType::Q5_1: f(static_cast<BlockQ5_1*>(nullptr)); return true;
    case GgmlType::Q8_0: f(static_cast<BlockQ8_0*>(nullptr)); return true;
    case GgmlType::Q8_1: f(static_cast<BlockQ8_1*>(nullptr)); return true;
    case GgmlType::Q2_K: f(static_cast<BlockQ2_K*>(nullptr)); return true;
    case GgmlType::Q3_K: f(static_cast<BlockQ3_K*>(nullptr)); return true;
    case GgmlType::Q4_K: f(static_cast<BlockQ4_K*>(nullptr)); return true;
    case GgmlType::Q5_K: f(static_cast<BlockQ5_K*>(nullptr)); return true;
    case GgmlType::Q6_K: f(static_cast<BlockQ6_K*>(nullptr)); return true;
    case GgmlType::Q8_K: f(static_cast<BlockQ8_K*>(nullptr)); return true;
    default: return false;
  }
}

}  // namespace forge::quant
