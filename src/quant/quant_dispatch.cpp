// Type-dispatched entry points over the typed functions.
#include <string>

#include "quant/quant.h"

namespace forge::quant {
namespace {

[[noreturn]] void unsupported(GgmlType type) {
  throw QuantError("type " + std::string(ggml_type_info(type).name) + " is not supported by the quant layer");
}

void check_length(GgmlType type, int64_t n) {
  const int64_t bs = block_size(type);
  if (n < 0 || n % bs != 0) {
    throw QuantError("row length " + std::to_string(n) + " is not a multiple of the " +
                     std::string(ggml_type_info(type).name) + " block size " + std::to_string(bs));
  }
}

}  // namespace

bool is_supported(GgmlType type) {
  return visit_block_type(type, [](auto*) {});
}

GgmlType vec_dot_type(GgmlType weight_type) {
  GgmlType t{};
  if (!visit_block_type(weight_type, [&](auto* b) {
        using B = std::remove_pointer_t<decltype(b)>;
        t = BlockTraits<typename BlockTraits<B>::Act>::kType;
      })) {
    unsupported(weight_type);
  }
  return t;
}

int64_t block_size(GgmlType type) {
  int64_t bs = 0;
  if (!visit_block_type(type, [&](auto* b) { bs = BlockTraits<std::remove_pointer_t<decltype(b)>>::kSize; })) {
    unsupported(type);
  }
  return bs;
}

size_t row_size(GgmlType type, int64_t n) {
  check_length(type, n);
  return ggml_row_size(ggml_type_info(type), n);
}

void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n) {
  check_length(type, n);
  visit_block_type(type, [&](auto* b) { dequantize_row(static_cast<decltype(b)>(const_cast<void*>(src)), dst, n); });
}

void quantize_row(GgmlType type, const float* src, void* dst, int64_t n) {
  check_length(type, n);
  visit_block_type(type, [&](auto* b) { quantize_row(src, static_cast<decltype(b)>(dst), n); });
}

float vec_dot(GgmlType weight_type, int64_t n, const void* weights, const void* acts) {
  check_length(weight_type, n);
  float r = 0;
  visit_block_type(weight_type, [&](auto* b) {
    using B = std::remove_pointer_t<decltype(b)>;
    using A = typename BlockTraits<B>::Act;
    r = vec_dot(static_cast<const B*>(weights), static_cast<const A*>(acts), n);
  });
  return r;
}

}  // namespace forge::quant
