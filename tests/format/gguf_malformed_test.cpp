// Malformed GGUF input: every class of damage gets a one-line FormatError that
// names the file and what is wrong, never a crash, an over-allocation or an
// out-of-bounds read (this binary also runs under ASan/UBSan in CI). The
// classes include those behind llama.cpp's GGUF CVEs: CVE-2024-21802 (n_dims
// and counts unchecked), CVE-2025-53630 and its bypass CVE-2026-27940 (size
// sums overflowing), CVE-2026-33298 (tensor byte size overflowing 64 bits).
#include <gtest/gtest.h>

#include <limits>

#include "format/gguf_file.h"
#include "gguf_builder.h"

namespace forge {
namespace {

using testing::Bytes;
using testing::gguf_header;
using testing::put_tensor_info;

// Parses and returns the error text ("" if it parsed).
std::string error_of(const std::vector<uint8_t>& bytes) {
  try {
    GgufFile::parse(bytes, "bad.gguf");
  } catch (const FormatError& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind("bad.gguf: ", 0), 0u) << "error must name the file: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "error must be one line: " << msg;
    return msg;
  }
  return "";
}

#define EXPECT_ERROR(bytes, fragment)                                              \
  do {                                                                             \
    std::string msg_ = error_of(bytes);                                            \
    EXPECT_NE(msg_.find(fragment), std::string::npos) << "got: '" << msg_ << "'"; \
  } while (0)

// A file with the given tensor infos (F32 unless said) and `data_bytes` of data.
std::vector<uint8_t> with_tensors(const std::vector<std::tuple<std::string, std::vector<uint64_t>, uint32_t, uint64_t>>& ts,
                                  size_t data_bytes, uint32_t alignment = 32) {
  Bytes f = gguf_header(ts.size(), 1);
  f.str("general.alignment").u32(4).u32(alignment);
  for (const auto& [name, dims, type, off] : ts) put_tensor_info(f, name, dims, type, off);
  f.pad_to(alignment).zeros(data_bytes);
  return f.b;
}

TEST(GgufMalformed, BadMagic) {
  Bytes f;
  f.raw("GGML").u32(3).u64(0).u64(0);
  EXPECT_ERROR(f.b, "bad magic 'GGML'");
  EXPECT_ERROR(std::vector<uint8_t>{}, "too small");
  EXPECT_ERROR(std::vector<uint8_t>({'G', 'G'}), "too small");
}

TEST(GgufMalformed, UnsupportedVersion) {
  EXPECT_ERROR(gguf_header(0, 0, 1).b, "version 1 is not supported");
  EXPECT_ERROR(gguf_header(0, 0, 4).b, "unsupported GGUF version 4");
  EXPECT_ERROR(gguf_header(0, 0, 0).b, "unsupported GGUF version 0");
  EXPECT_ERROR(gguf_header(0, 0, 0x03000000).b, "big-endian");
  EXPECT_EQ(error_of(gguf_header(0, 0, 2).b), "");  // v2 is fine
}

TEST(GgufMalformed, TruncatedAtEveryOffset) {
  auto full = testing::small_valid_gguf();
  ASSERT_EQ(error_of(full), "");
  // Every prefix that cuts into the header, metadata, tensor infos or tensor
  // data is refused; the trailing padding after the last tensor is optional.
  GgufFile parsed = GgufFile::parse(full, "full.gguf");
  const auto& last = parsed.tensors().back();
  const size_t data_end = parsed.data_offset() + last.offset + last.n_bytes;
  ASSERT_LT(data_end, full.size());
  for (size_t n = 0; n < full.size(); ++n) {
    std::vector<uint8_t> part(full.begin(), full.begin() + n);
    std::string msg = error_of(part);
    EXPECT_EQ(msg.empty(), n >= data_end) << "prefix of " << n << " bytes: '" << msg << "'";
  }
}

TEST(GgufMalformed, AbsurdCounts) {
  EXPECT_ERROR(gguf_header(1ull << 40, 0).b, "tensor count 1099511627776 is impossible");
  EXPECT_ERROR(gguf_header(0, ~0ull).b, "(-1 as signed)");
  EXPECT_ERROR(gguf_header(static_cast<uint64_t>(-5), 0).b, "(-5 as signed)");
}

TEST(GgufMalformed, StringLengthsPastTheEnd) {
  Bytes f = gguf_header(0, 1);
  f.u64(1000).raw("abc").zeros(16);  // key length past the end
  EXPECT_ERROR(f.b, "past the end of the file");
  Bytes g = gguf_header(0, 1);
  g.str("k").u32(8).u64(~0ull).raw("x").zeros(16);  // string value length past the end
  EXPECT_ERROR(g.b, "key 'k' has length 18446744073709551615, past the end");
}

TEST(GgufMalformed, EmptyAndDuplicateKeys) {
  Bytes f = gguf_header(0, 1);
  f.str("").u32(4).u32(1);
  EXPECT_ERROR(f.b, "empty key");
  Bytes g = gguf_header(0, 2);
  g.str("a.b").u32(4).u32(1).str("a.b").u32(4).u32(2);
  EXPECT_ERROR(g.b, "duplicate metadata key 'a.b'");
}

TEST(GgufMalformed, UnknownValueTypes) {
  Bytes f = gguf_header(0, 1);
  f.str("k").u32(13).u32(0);
  EXPECT_ERROR(f.b, "key 'k' has unknown value type 13");
  Bytes g = gguf_header(0, 1);
  g.str("k").u32(9).u32(99).u64(1).u32(0);
  EXPECT_ERROR(g.b, "unknown array element type 99");
  Bytes h = gguf_header(0, 1);
  h.str("k").u32(7).put<uint8_t>(2);
  EXPECT_ERROR(h.b, "bool value 2");
}

TEST(GgufMalformed, HugeAndDeepArrays) {
  Bytes f = gguf_header(0, 1);
  f.str("k").u32(9).u32(6).u64(1ull << 60).zeros(64);
  EXPECT_ERROR(f.b, "cannot fit");
  // Arrays nested 100 deep: refused by depth, not by the stack.
  Bytes g = gguf_header(0, 1);
  g.str("k").u32(9);
  for (int i = 0; i < 100; ++i) g.u32(9).u64(1);
  g.u32(4).u64(0);
  EXPECT_ERROR(g.b, "nested deeper than");
}

TEST(GgufMalformed, Alignment) {
  Bytes f = gguf_header(0, 1);
  f.str("general.alignment").u32(8).str("32");
  EXPECT_ERROR(f.b, "'general.alignment' has type string, expected uint32");
  Bytes g = gguf_header(0, 1);
  g.str("general.alignment").u32(10).u64(32);
  EXPECT_ERROR(g.b, "'general.alignment' has type uint64, expected uint32");
  Bytes h = gguf_header(0, 1);
  h.str("general.alignment").u32(4).u32(24);
  EXPECT_ERROR(h.b, "'general.alignment' is 24, expected a non-zero power of two");
  Bytes z = gguf_header(0, 1);
  z.str("general.alignment").u32(4).u32(0);
  EXPECT_ERROR(z.b, "'general.alignment' is 0");
}

TEST(GgufMalformed, TensorNames) {
  EXPECT_ERROR(with_tensors({{std::string(64, 'x'), {4}, 0, 0}}, 32), "is 64 bytes long (at most 63)");
  EXPECT_EQ(error_of(with_tensors({{std::string(63, 'x'), {4}, 0, 0}}, 32)), "");
  EXPECT_ERROR(with_tensors({{"w", {4}, 0, 0}, {"w", {4}, 0, 32}}, 64), "duplicate tensor 'w'");
  EXPECT_ERROR(with_tensors({{"", {4}, 0, 0}}, 32), "empty name");
}

TEST(GgufMalformed, DimensionCount) {
  EXPECT_ERROR(with_tensors({{"w", {}, 0, 0}}, 32), "tensor 'w' has 0 dimensions (expected 1 to 4)");
  EXPECT_ERROR(with_tensors({{"w", {1, 1, 1, 1, 1}, 0, 0}}, 32), "tensor 'w' has 5 dimensions");
  Bytes f = gguf_header(1, 0);
  f.str("w").u32(0xFFFFFFFFu).zeros(32);
  EXPECT_ERROR(f.b, "4294967295 dimensions");
}

TEST(GgufMalformed, ZeroAndNegativeDims) {
  EXPECT_ERROR(with_tensors({{"w", {4, 0}, 0, 0}}, 32), "tensor 'w' has a zero dimension 1");
  EXPECT_ERROR(with_tensors({{"w", {static_cast<uint64_t>(-4)}, 0, 0}}, 32), "tensor 'w' has negative dimension -4");
}

TEST(GgufMalformed, SizeOverflow) {
  // Element count past 2^63.
  EXPECT_ERROR(with_tensors({{"w", {1ull << 32, 1ull << 32}, 0, 0}}, 32), "element count overflows 64 bits");
  // Element count fits, byte size does not (CVE-2026-33298: exabytes of logical data in a tiny file).
  EXPECT_ERROR(with_tensors({{"w", {1ull << 31, 1ull << 31}, 0, 0}}, 32), "byte size overflows 64 bits");
  // Byte size fits in 64 bits, but the padded sum would wrap (CVE-2025-53630 / CVE-2026-27940): the
  // end-of-data check is done without adding offset and size.
  EXPECT_ERROR(with_tensors({{"w", {1ull << 61}, 0, 0}}, 32), "ends past the file end");
  EXPECT_ERROR(with_tensors({{"a", {8}, 0, 0}, {"b", {8}, 0, ~0ull - 31}}, 64), "ends past the file end");
}

TEST(GgufMalformed, TensorTypes) {
  EXPECT_ERROR(with_tensors({{"w", {32}, 99, 0}}, 64), "tensor 'w' has unknown tensor type id 99");
  EXPECT_ERROR(with_tensors({{"w", {32}, 31, 0}}, 64), "type q4_0_4_4 (id 31), which ggml removed");
  EXPECT_ERROR(with_tensors({{"w", {33}, 2, 0}}, 64), "row length 33, not a multiple of the q4_0 block size 32");
}

TEST(GgufMalformed, TensorPlacement) {
  EXPECT_ERROR(with_tensors({{"w", {4}, 0, 8}}, 64), "tensor 'w' has data offset 8, not a multiple of the alignment 32");
  EXPECT_ERROR(with_tensors({{"w", {16}, 0, 32}}, 64), "tensor 'w' ends past the file end");
  EXPECT_ERROR(with_tensors({{"a", {16}, 0, 0}, {"b", {8}, 0, 32}}, 128), "tensors 'a' and 'b' overlap");
  // Same offset twice.
  EXPECT_ERROR(with_tensors({{"a", {8}, 0, 0}, {"b", {8}, 0, 0}}, 128), "overlap");
  EXPECT_EQ(error_of(with_tensors({{"a", {8}, 0, 0}, {"b", {8}, 0, 32}}, 64)), "");
}

TEST(GgufMalformed, DataSectionMissing) {
  Bytes f = gguf_header(1, 0);
  put_tensor_info(f, "w", {4}, 0, 0);  // no padding, no data
  EXPECT_ERROR(f.b, "");
  EXPECT_FALSE(error_of(f.b).empty());
}

TEST(GgufMalformed, MissingFile) {
  try {
    GgufFile::open("/nonexistent/model.gguf");
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.gguf: cannot open"), std::string::npos);
  }
}

}  // namespace
}  // namespace forge
