#include "format/safetensors_dtype.h"

#include <array>

namespace forge {
namespace {

struct DtypeRow {
  SafetensorsDtype type;
  std::string_view name;
  int bits;
};

constexpr std::array<DtypeRow, 20> kDtypes{{
    {SafetensorsDtype::BOOL, "BOOL", 8},       {SafetensorsDtype::U8, "U8", 8},
    {SafetensorsDtype::I8, "I8", 8},           {SafetensorsDtype::F8_E5M2, "F8_E5M2", 8},
    {SafetensorsDtype::F8_E4M3, "F8_E4M3", 8}, {SafetensorsDtype::F8_E8M0, "F8_E8M0", 8},
    {SafetensorsDtype::I16, "I16", 16},        {SafetensorsDtype::U16, "U16", 16},
    {SafetensorsDtype::F16, "F16", 16},        {SafetensorsDtype::BF16, "BF16", 16},
    {SafetensorsDtype::I32, "I32", 32},        {SafetensorsDtype::U32, "U32", 32},
    {SafetensorsDtype::F32, "F32", 32},        {SafetensorsDtype::F64, "F64", 64},
    {SafetensorsDtype::I64, "I64", 64},        {SafetensorsDtype::U64, "U64", 64},
    {SafetensorsDtype::C64, "C64", 64},        {SafetensorsDtype::F4, "F4", 4},
    {SafetensorsDtype::F6_E2M3, "F6_E2M3", 6}, {SafetensorsDtype::F6_E3M2, "F6_E3M2", 6},
}};

const DtypeRow& row(SafetensorsDtype t) {
  for (const auto& r : kDtypes) {
    if (r.type == t) return r;
  }
  return kDtypes[0];  // unreachable: every enumerator has a row
}

}  // namespace

std::string_view safetensors_dtype_name(SafetensorsDtype t) {
  return row(t).name;
}

int safetensors_dtype_bits(SafetensorsDtype t) {
  return row(t).bits;
}

std::optional<SafetensorsDtype> safetensors_dtype_from_name(std::string_view name) {
  for (const auto& r : kDtypes) {
    if (r.name == name) return r.type;
  }
  return std::nullopt;
}

std::optional<GgmlType> safetensors_dtype_to_ggml(SafetensorsDtype t) {
  switch (t) {
    case SafetensorsDtype::F32:
      return GgmlType::F32;
    case SafetensorsDtype::F16:
      return GgmlType::F16;
    case SafetensorsDtype::BF16:
      return GgmlType::BF16;
    default:
      return std::nullopt;
  }
}

}  // namespace forge
