// The literals both code generators print (codegen/cpu/source_text.h): a
// float reads back as the same float, infinities as <cmath>'s INFINITY (the
// CPU target once printed "inff"), names escaped for string literals.
#include "codegen/cpu/source_text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>

namespace forge::codegen::cpu {
namespace {

float read_back(const std::string& literal) {  // "1.5f" -> 1.5f
  return std::strtof(literal.substr(0, literal.size() - 1).c_str(), nullptr);
}

TEST(SourceText, FloatLiteralsReadBackExactly) {
  for (float f : {1e-5f, 2.0f, -0.5f, 0.1f, 3.14159274f, 1e30f, 1.17549435e-38f, 0.0f}) {
    const std::string s = flt(f);
    ASSERT_EQ(s.back(), 'f') << s;
    EXPECT_EQ(read_back(s), f) << s;
    EXPECT_NE(s.find_first_of(".e"), std::string::npos) << s;  // a float literal, never an integer one
  }
  EXPECT_EQ(flt(2.0f), "2.0f");
  EXPECT_EQ(flt(std::numeric_limits<float>::infinity()), "INFINITY");
  EXPECT_EQ(flt(-std::numeric_limits<float>::infinity()), "-INFINITY");
}

TEST(SourceText, HexAndEscapes) {
  EXPECT_EQ(hex64(255), "0x00000000000000ffull");
  EXPECT_EQ(escaped("a\"b\\c\nd"), "a\\\"b\\\\cd");
}

}  // namespace
}  // namespace forge::codegen::cpu
