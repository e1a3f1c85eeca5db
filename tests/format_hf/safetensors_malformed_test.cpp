// Malformed SafeTensors input: every class of damage gets a one-line
// FormatError that names the file and what is wrong, never a crash or an
// out-of-bounds view (this binary also runs under ASan/UBSan).
#include <gtest/gtest.h>

#include <limits>

#include "format/safetensors_file.h"
#include "hf_test_util.h"

namespace forge {
namespace {

using testing::st_bytes;

std::string error_of(const std::vector<uint8_t>& bytes) {
  try {
    SafetensorsFile::parse(bytes, "bad.safetensors");
  } catch (const FormatError& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind("bad.safetensors: ", 0), 0u) << "error must name the file: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "error must be one line: " << msg;
    return msg;
  }
  return "";
}

#define EXPECT_ERROR(bytes, fragment)                                             \
  do {                                                                            \
    std::string msg_ = error_of(bytes);                                           \
    EXPECT_NE(msg_.find(fragment), std::string::npos) << "got: '" << msg_ << "'"; \
  } while (0)

// One F32 tensor 'w' of shape [2, 3] and its 24 bytes: the valid baseline each case damages.
const std::string kGood = R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})";

TEST(SafetensorsMalformed, BaselineParses) {
  EXPECT_EQ(error_of(st_bytes(kGood, 24)), "");
}

TEST(SafetensorsMalformed, HeaderLength) {
  EXPECT_ERROR(std::vector<uint8_t>{}, "too small");
  EXPECT_ERROR(std::vector<uint8_t>(5, 0), "too small");
  auto b = st_bytes(kGood, 24);
  b[0] = static_cast<uint8_t>(b[0] + 30);  // header now runs into (and past) the buffer
  b.resize(8 + 40);
  EXPECT_ERROR(b, "runs past the end of the file");
  std::vector<uint8_t> huge(16, 0);
  huge[7] = 0x80;  // 2^63: absurd
  EXPECT_ERROR(huge, "above the limit");
  std::vector<uint8_t> max(16, 0xff);
  EXPECT_ERROR(max, "above the limit");
  std::vector<uint8_t> zero(8, 0);
  EXPECT_ERROR(zero, "header is empty");
}

TEST(SafetensorsMalformed, InvalidJson) {
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F32",)", 0), "invalid JSON");
  EXPECT_ERROR(st_bytes(R"({"w": nope})", 0), "invalid JSON");
  EXPECT_ERROR(st_bytes(" {}", 0), "does not start with '{'");
  EXPECT_ERROR(st_bytes("{} trailing", 0), "invalid JSON");
  std::string bad_utf8 = "{\"w\xff\":{}}";
  EXPECT_ERROR(st_bytes(bad_utf8, 0), "invalid JSON");
  const std::string deep = "{\"w\":" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_ERROR(st_bytes(deep, 0), "nests deeper");
  // Trailing spaces are the padding writers use: allowed.
  EXPECT_EQ(error_of(st_bytes(kGood + "      ", 24)), "");
}

// A number too large for a double (a fuzz finding: nlohmann raises
// out_of_range, not parse_error, for it).
TEST(SafetensorsMalformed, NumberOverflowInHeader) {
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F32","shape":[11e776],"data_offsets":[0,24]}})", 24), "invalid JSON");
  EXPECT_ERROR(st_bytes(R"({"__metadata__":{"x":1e999},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})", 24),
               "invalid JSON");
}

TEST(SafetensorsMalformed, WrongJsonTypes) {
  EXPECT_ERROR(st_bytes(R"({"w":[1,2]})", 0), "tensor 'w' is a JSON array, expected an object");
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":7,"shape":[1],"data_offsets":[0,4]}})", 4), "'dtype' has type integer");
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F32","shape":"2x3","data_offsets":[0,24]}})", 24), "'shape' has type string");
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":{"a":0}}})", 24), "'data_offsets' is");
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0]}})", 24), "expected [begin, end]");
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24,48]}})", 24),
               "expected [begin, end]");
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[-1,24]}})", 24), "expected [begin, end]");
  EXPECT_ERROR(st_bytes(R"({"w":{"shape":[2,3],"data_offsets":[0,24]}})", 24), "tensor 'w' has no 'dtype'");
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F32","data_offsets":[0,24]}})", 24), "has no 'shape'");
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F32","shape":[2,3]}})", 24), "has no 'data_offsets'");
  EXPECT_ERROR(st_bytes(R"([1,2])", 0), "does not start with '{'");
  EXPECT_ERROR(st_bytes(R"({"__metadata__":{"format":1}})", 0), "'__metadata__' key 'format' has type integer");
  EXPECT_ERROR(st_bytes(R"({"__metadata__":["pt"]})", 0), "'__metadata__' is a JSON array");
}

TEST(SafetensorsMalformed, Dtypes) {
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}})", 4), "unknown dtype \"F31\"");
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})", 4), "unknown dtype \"f32\"");
  // Other dtypes are read and reported by name.
  auto f = SafetensorsFile::parse(st_bytes(R"({"i":{"dtype":"I64","shape":[3],"data_offsets":[0,24]}})", 24), "i.st");
  EXPECT_EQ(f.tensor("i").dtype_name(), "I64");
  EXPECT_FALSE(safetensors_dtype_to_ggml(f.tensor("i").dtype).has_value());
  // Sub-byte types must fill whole bytes.
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}})", 2), "do not fill whole bytes");
  EXPECT_EQ(error_of(st_bytes(R"({"w":{"dtype":"F4","shape":[4],"data_offsets":[0,2]}})", 2)), "");
}

TEST(SafetensorsMalformed, Shapes) {
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F32","shape":[-2,3],"data_offsets":[0,24]}})", 24), "shape[0] is negative");
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F32","shape":[2,3.0],"data_offsets":[0,24]}})", 24),
               "shape[1] has type number");
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F32","shape":[2,"3"],"data_offsets":[0,24]}})", 24),
               "shape[1] has type string");
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,24]}})", 24),
               "above 2^63 - 1");
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,24]}})", 24),
               "overflows 64 bits");
  // Elements fit 63 bits but bytes do not.
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,24]}})", 24),
               "byte size overflows 64 bits");
  // A zero dim makes an empty tensor, allowed with an empty range; a scalar has one element.
  auto f = SafetensorsFile::parse(
      st_bytes(
          R"({"e":{"dtype":"F32","shape":[0,5],"data_offsets":[0,0]},"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})",
          4),
      "ok.st");
  EXPECT_EQ(f.tensor("e").n_elements, 0u);
  EXPECT_EQ(f.tensor("s").n_elements, 1u);
  EXPECT_TRUE(f.tensor("s").shape.empty());
}

TEST(SafetensorsMalformed, DataOffsets) {
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[24,0]}})", 24), "begin after end");
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})", 20), "ends past the file end");
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,18446744073709551615]}})", 24),
               "ends past the file end");
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", 20), "spans 20 bytes");
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F16","shape":[2,3],"data_offsets":[0,24]}})", 24), "needs 12");
}

TEST(SafetensorsMalformed, OverlapsHolesAndTrailingBytes) {
  EXPECT_ERROR(st_bytes(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},
                            "b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                        24),
               "tensors 'a' and 'b' overlap");
  EXPECT_ERROR(st_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                            "b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                        8),
               "overlap");
  EXPECT_ERROR(st_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                            "b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})",
                        20),
               "bytes 8..12 of the byte buffer belong to no tensor");
  EXPECT_ERROR(st_bytes(R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12), "bytes 0..4");
  EXPECT_ERROR(st_bytes(kGood, 25), "bytes 24..25 at the end of the byte buffer belong to no tensor");
  EXPECT_ERROR(st_bytes("{}", 3), "bytes 0..3 at the end");
}

TEST(SafetensorsMalformed, DuplicateKeys) {
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},
                            "w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                        8),
               "JSON key 'w' appears twice");
  EXPECT_ERROR(st_bytes(R"({"w":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}})", 4),
               "JSON key 'dtype' appears twice");
  // The same key in two different objects is fine.
  EXPECT_EQ(error_of(st_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},
                                  "b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                              8)),
            "");
}

TEST(SafetensorsMalformed, ViewsStayInsideTheInput) {
  auto bytes = st_bytes(R"({"__metadata__":{"format":"pt"},
                           "b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},
                           "a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                        12);
  auto f = SafetensorsFile::parse(bytes, "ok.st");
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.tensors()[0].name, "a");  // byte order, not header order
  EXPECT_EQ(f.tensors()[1].name, "b");
  const uint8_t* buffer = bytes.data() + 8 + f.header_size();
  EXPECT_EQ(f.tensor("a").data.data(), buffer);
  EXPECT_EQ(f.tensor("b").data.data(), buffer + 8);
  EXPECT_EQ(f.tensor("b").data.size(), 4u);
  ASSERT_NE(f.find_metadata("format"), nullptr);
  EXPECT_EQ(*f.find_metadata("format"), "pt");
  EXPECT_FORMAT_ERROR(f.tensor("c"), "ok.st: tensor 'c' is missing");
}

}  // namespace
}  // namespace forge
