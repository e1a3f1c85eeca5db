// SafeTensors element types, as the format names them in a header's "dtype"
// (the Dtype enum of the safetensors reference implementation, 0.6 and later,
// which added the sub-byte float types).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "format/ggml_types.h"

namespace forge {

enum class SafetensorsDtype : uint8_t {
  BOOL,
  U8,
  I8,
  F8_E5M2,
  F8_E4M3,
  F8_E8M0,
  I16,
  U16,
  F16,
  BF16,
  I32,
  U32,
  F32,
  F64,
  I64,
  U64,
  C64,
  F4,
  F6_E2M3,
  F6_E3M2,
};

// The name as it appears in the header: "F32", "BF16", "I64".
std::string_view safetensors_dtype_name(SafetensorsDtype t);

// Parses a header's dtype string (exact spelling, case-sensitive as the format
// is); std::nullopt for a name the format does not define.
std::optional<SafetensorsDtype> safetensors_dtype_from_name(std::string_view name);

// Bits per element (4 and 6 for the sub-byte floats, else a multiple of 8).
int safetensors_dtype_bits(SafetensorsDtype t);

// The GGML type with the same element encoding, for the types Forge computes
// with: F32, F16, BF16. Every other dtype is read and reported by name, and
// refused by consumers: std::nullopt.
std::optional<GgmlType> safetensors_dtype_to_ggml(SafetensorsDtype t);

}  // namespace forge
