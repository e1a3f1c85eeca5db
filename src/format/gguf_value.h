// One GGUF metadata value: a scalar, a string, or an array (possibly nested).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace forge {

// Value type ids as GGUF numbers them (gguf_type in ggml's gguf.h).
enum class GgufValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6,
  BOOL = 7, STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};
inline constexpr uint32_t kGgufValueTypeCount = 13;

std::string_view gguf_value_type_name(GgufValueType t);  // "uint32", "array", ...

class GgufValue;

struct GgufArray {
  GgufValueType elem_type = GgufValueType::U8;
  std::vector<GgufValue> items;
};

class GgufValue {
 public:
  // Alternative index == GgufValueType id.
  using Storage = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool, std::string,
                               GgufArray, uint64_t, int64_t, double>;

  GgufValue() = default;
  explicit GgufValue(Storage s) : v_(std::move(s)) {}
  static GgufValue string(std::string s) { return GgufValue(Storage(std::in_place_type<std::string>, std::move(s))); }
  static GgufValue array(GgufValueType elem, std::vector<GgufValue> items) {
    return GgufValue(Storage(GgufArray{elem, std::move(items)}));
  }

  GgufValueType type() const { return static_cast<GgufValueType>(v_.index()); }
  const Storage& storage() const { return v_; }

  // Numeric conversion that never loses information: any integer type into
  // any integer type whose range holds the value; float32/float64 into float
  // or double; bool only into bool. std::nullopt otherwise.
  template <class T>
  std::optional<T> as() const;

  const std::string* as_string() const { return std::get_if<std::string>(&v_); }
  const GgufArray* as_array() const { return std::get_if<GgufArray>(&v_); }

  // Short human-readable form; arrays show at most `max_items` items.
  std::string to_display(size_t max_items = 8) const;

  friend bool operator==(const GgufValue& a, const GgufValue& b);

 private:
  Storage v_;
};

bool operator==(const GgufArray& a, const GgufArray& b);

// The type name a C++ type maps to, for error messages.
template <class T>
std::string_view gguf_cpp_type_name();

}  // namespace forge
