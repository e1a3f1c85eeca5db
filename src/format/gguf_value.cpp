#include "format/gguf_value.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <type_traits>
#include <utility>

namespace forge {

std::string_view gguf_value_type_name(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8: return "uint8";
    case GgufValueType::I8: return "int8";
    case GgufValueType::U16: return "uint16";
    case GgufValueType::I16: return "int16";
    case GgufValueType::U32: return "uint32";
    case GgufValueType::I32: return "int32";
    case GgufValueType::F32: return "float32";
    case GgufValueType::BOOL: return "bool";
    case GgufValueType::STRING: return "string";
    case GgufValueType::ARRAY: return "array";
    case GgufValueType::U64: return "uint64";
    case GgufValueType::I64: return "int64";
    case GgufValueType::F64: return "float64";
  }
  return "unknown";
}

template <class T>
std::string_view gguf_cpp_type_name() {
  if constexpr (std::is_same_v<T, bool>) return "bool";
  else if constexpr (std::is_same_v<T, std::string>) return "string";
  else if constexpr (std::is_same_v<T, float>) return "float32";
  else if constexpr (std::is_same_v<T, double>) return "float64";
  else if constexpr (std::is_same_v<T, uint8_t>) return "uint8";
  else if constexpr (std::is_same_v<T, int8_t>) return "int8";
  else if constexpr (std::is_same_v<T, uint16_t>) return "uint16";
  else if constexpr (std::is_same_v<T, int16_t>) return "int16";
  else if constexpr (std::is_same_v<T, uint32_t>) return "uint32";
  else if constexpr (std::is_same_v<T, int32_t>) return "int32";
  else if constexpr (std::is_same_v<T, uint64_t>) return "uint64";
  else if constexpr (std::is_same_v<T, int64_t>) return "int64";
  else return "?";
}

template <class T>
std::optional<T> GgufValue::as() const {
  return std::visit(
      [](const auto& v) -> std::optional<T> {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          if constexpr (std::is_same_v<V, std::string>) return v;
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, bool>) {
          if constexpr (std::is_same_v<V, bool>) return v;
          return std::nullopt;
        } else if constexpr (std::is_floating_point_v<T>) {
          if constexpr (std::is_floating_point_v<V>) return static_cast<T>(v);
          return std::nullopt;
        } else if constexpr (std::is_integral_v<T>) {
          if constexpr (std::is_integral_v<V> && !std::is_same_v<V, bool>) {
            if (std::in_range<T>(v)) return static_cast<T>(v);
          }
          return std::nullopt;
        } else {
          return std::nullopt;
        }
      },
      v_);
}

#define FORGE_INSTANTIATE(T)                          \
  template std::optional<T> GgufValue::as<T>() const; \
  template std::string_view gguf_cpp_type_name<T>();
FORGE_INSTANTIATE(uint8_t)
FORGE_INSTANTIATE(int8_t)
FORGE_INSTANTIATE(uint16_t)
FORGE_INSTANTIATE(int16_t)
FORGE_INSTANTIATE(uint32_t)
FORGE_INSTANTIATE(int32_t)
FORGE_INSTANTIATE(uint64_t)
FORGE_INSTANTIATE(int64_t)
FORGE_INSTANTIATE(float)
FORGE_INSTANTIATE(double)
FORGE_INSTANTIATE(bool)
FORGE_INSTANTIATE(std::string)
#undef FORGE_INSTANTIATE

namespace {

void append_display(std::ostringstream& os, const GgufValue& value, size_t max_items) {
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::string>) {
          constexpr size_t kMaxChars = 60;
          os << '"';
          for (size_t i = 0; i < v.size() && i < kMaxChars; ++i) {
            char c = v[i];
            if (c == '\n') os << "\\n";
            else if (c == '"') os << "\\\"";
            else if (static_cast<unsigned char>(c) < 0x20) os << '?';
            else os << c;
          }
          if (v.size() > kMaxChars) os << "...";
          os << '"';
        } else if constexpr (std::is_same_v<V, GgufArray>) {
          os << '[';
          for (size_t i = 0; i < v.items.size() && i < max_items; ++i) {
            if (i) os << ", ";
            append_display(os, v.items[i], max_items);
          }
          if (v.items.size() > max_items) os << ", ... (" << v.items.size() << " items)";
          os << ']';
        } else if constexpr (std::is_same_v<V, bool>) {
          os << (v ? "true" : "false");
        } else if constexpr (std::is_same_v<V, uint8_t> || std::is_same_v<V, int8_t>) {
          os << static_cast<int>(v);
        } else {
          os << v;
        }
      },
      value.storage());
}

}  // namespace

std::string GgufValue::to_display(size_t max_items) const {
  std::ostringstream os;
  os.precision(7);
  append_display(os, *this, max_items);
  return os.str();
}

bool operator==(const GgufArray& a, const GgufArray& b) { return a.elem_type == b.elem_type && a.items == b.items; }

bool operator==(const GgufValue& a, const GgufValue& b) {
  if (a.v_.index() != b.v_.index()) return false;
  // Floats compare by bit pattern so that NaN payloads round-trip too.
  if (auto fa = std::get_if<float>(&a.v_)) {
    float fb = std::get<float>(b.v_);
    return std::memcmp(fa, &fb, sizeof fb) == 0;
  }
  if (auto da = std::get_if<double>(&a.v_)) {
    double db = std::get<double>(b.v_);
    return std::memcmp(da, &db, sizeof db) == 0;
  }
  return a.v_ == b.v_;
}

}  // namespace forge
