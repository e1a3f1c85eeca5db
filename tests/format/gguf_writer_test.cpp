// The GGUF writer: read, write, read again, compare: every shipped GGUF
// round-trips with identical metadata and tensor bytes.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "format/gguf_file.h"
#include "format/gguf_writer.h"
#include "gguf_builder.h"

namespace forge {
namespace {

const std::string kData = FORGE_DATA_DIR;

void expect_same(const GgufFile& a, const GgufFile& b) {
  ASSERT_EQ(a.metadata().size(), b.metadata().size());
  for (size_t i = 0; i < a.metadata().size(); ++i) {
    EXPECT_EQ(a.metadata()[i].first, b.metadata()[i].first);
    EXPECT_TRUE(a.metadata()[i].second == b.metadata()[i].second) << a.metadata()[i].first;
  }
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (size_t i = 0; i < a.tensors().size(); ++i) {
    const auto& x = a.tensors()[i];
    const auto& y = b.tensors()[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.type, y.type);
    EXPECT_EQ(x.dims, y.dims);
    ASSERT_EQ(x.data.size(), y.data.size());
    EXPECT_EQ(std::memcmp(x.data.data(), y.data.data(), x.data.size()), 0) << x.name;
  }
}

TEST(GgufWriter, RoundTripsSmallFile) {
  auto bytes = testing::small_valid_gguf();
  GgufFile a = GgufFile::parse(bytes, "small.gguf");
  auto out = GgufWriter::copy_of(a).to_bytes();
  GgufFile b = GgufFile::parse(out, "small-copy.gguf");
  expect_same(a, b);
  // Laid out the way ggml lays it out, so the bytes are identical too.
  EXPECT_EQ(out, bytes);
}

TEST(GgufWriter, RoundTripsEveryShippedFile) {
  int n = 0;
  const auto tmp = std::filesystem::temp_directory_path() / "forge_gguf_roundtrip.gguf";
  for (const auto& e : std::filesystem::recursive_directory_iterator(kData)) {
    if (e.path().extension() != ".gguf" || e.path().string().find("ggufv1") != std::string::npos) continue;
    SCOPED_TRACE(e.path().string());
    GgufFile a = GgufFile::open(e.path().string());
    GgufWriter::copy_of(a).write(tmp.string());
    GgufFile b = GgufFile::open(tmp.string());
    expect_same(a, b);
    ++n;
  }
  std::filesystem::remove(tmp);
  EXPECT_GT(n, 40);
}

TEST(GgufWriter, FillCallbackAndReplaceKey) {
  GgufWriter w;
  w.set_u32("x.count", 1);
  w.set_string("general.architecture", "llama");
  w.set_u32("x.count", 2);  // replaced in place
  w.add_tensor("w", GgmlType::F32, {4, 2}, [](std::span<uint8_t> out) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(i);
  });
  auto bytes = w.to_bytes();
  GgufFile f = GgufFile::parse(bytes, "w.gguf");
  EXPECT_EQ(f.metadata()[0].first, "x.count");
  EXPECT_EQ(f.get<uint32_t>("x.count"), 2u);
  EXPECT_EQ(f.tensor("w").data[31], 31);
}

TEST(GgufWriter, RejectsInconsistentTensors) {
  GgufWriter w;
  std::vector<uint8_t> data(10);
  EXPECT_THROW(w.add_tensor("w", GgmlType::F32, {4}, std::span<const uint8_t>(data)), FormatError);
  EXPECT_THROW(w.add_tensor("q", GgmlType::Q4_0, {33}, std::vector<uint8_t>(18)), FormatError);
  EXPECT_THROW(w.write("/nonexistent-dir/x.gguf"), FormatError);
}

}  // namespace
}  // namespace forge
