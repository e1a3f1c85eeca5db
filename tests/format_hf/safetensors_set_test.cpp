// Sharded checkpoints: model.safetensors.index.json and its shards, built in a
// scratch folder; each tensor must sit in exactly the shard the index names.
#include "format/safetensors_set.h"

#include <gtest/gtest.h>

#include "hf_test_util.h"

namespace forge {
namespace {

using testing::ScratchDir;
using testing::st_file;

constexpr const char* kIndex = R"({"metadata": {"total_size": 40},
  "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"}})";

void write_shards(const ScratchDir& d) {
  d.write("model-00001-of-00002.safetensors", st_file({{"a", "F32", {2, 2}}, {"b", "F16", {4}, 2}}));
  d.write("model-00002-of-00002.safetensors", st_file({{"c", "BF16", {2, 8}, 2}}));
}

TEST(SafetensorsSet, OpensAShardedFolder) {
  ScratchDir d;
  write_shards(d);
  d.write("model.safetensors.index.json", std::string(kIndex));
  SafetensorsSet set = SafetensorsSet::open(d.path());
  ASSERT_EQ(set.files().size(), 2u);
  EXPECT_EQ(set.size(), 3u);
  EXPECT_EQ(set.tensor("c").dtype, SafetensorsDtype::BF16);
  EXPECT_EQ(set.tensor("c").shape, (std::vector<int64_t>{2, 8}));
  EXPECT_EQ(set.file_of("c").path(), d.file("model-00002-of-00002.safetensors"));
  EXPECT_EQ(set.tensors().size(), 3u);
  EXPECT_EQ(set.find("d"), nullptr);
  EXPECT_FORMAT_ERROR(set.tensor("d"), "model.safetensors.index.json: tensor 'd' is missing");
  // The index file itself works as the path too.
  EXPECT_EQ(SafetensorsSet::open(d.file("model.safetensors.index.json")).size(), 3u);
}

TEST(SafetensorsSet, SingleFileFolder) {
  ScratchDir d;
  d.write("model.safetensors", st_file({{"w", "F32", {3}}}));
  SafetensorsSet set = SafetensorsSet::open(d.path());
  EXPECT_EQ(set.size(), 1u);
  EXPECT_EQ(SafetensorsSet::open(d.file("model.safetensors")).size(), 1u);
  ScratchDir empty;
  EXPECT_FORMAT_ERROR(SafetensorsSet::open(empty.path()),
                      "holds neither model.safetensors.index.json nor model.safetensors");
}

std::string with(std::string s, const std::string& from, const std::string& to) {
  auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

TEST(SafetensorsSet, IndexDisagreesWithShards) {
  struct Case {
    std::string index, fragment;
  };
  const std::string idx = kIndex;
  const Case cases[] = {
      // 'b' is really in shard 1.
      {with(idx, R"("b": "model-00001-of-00002.safetensors")", R"("b": "model-00002-of-00002.safetensors")"),
       "tensor 'b' is in shard 'model-00001-of-00002.safetensors' but 'weight_map' puts it in "
       "'model-00002-of-00002.safetensors'"},
      // Shard 2 is no longer named, so 'c' is looked for in shard 1 only.
      {with(idx, R"("c": "model-00002-of-00002.safetensors")", R"("c": "model-00001-of-00002.safetensors")"),
       "tensor 'c' is listed in 'weight_map' but missing from shard 'model-00001-of-00002.safetensors'"},
      {with(idx, R"("b": "model-00001-of-00002.safetensors", )", ""),
       "tensor 'b' is in shard 'model-00001-of-00002.safetensors' but not in 'weight_map'"},
      {with(idx, R"("c": "model-00002-of-00002.safetensors")",
            R"("c": "model-00002-of-00002.safetensors", "d": "model-00002-of-00002.safetensors")"),
       "tensor 'd' is listed in 'weight_map' but missing from shard 'model-00002-of-00002.safetensors'"},
      {with(idx, R"("c": "model-00002-of-00002.safetensors")", R"("c": "model-00003-of-00002.safetensors")"),
       "model-00003-of-00002.safetensors: cannot open"},
      {with(idx, R"("c": "model-00002-of-00002.safetensors")", R"("c": "../model-00002-of-00002.safetensors")"),
       "names shard '../model-00002-of-00002.safetensors', expected a file name in the index's folder"},
      {with(idx, R"("c": "model-00002-of-00002.safetensors")", R"("c": 2)"), "'weight_map' entry 'c' has type integer"},
      {R"({"metadata": {}})", "key 'weight_map' is missing"},
      {R"({"weight_map": []})", "key 'weight_map' has type array, expected object"},
      {R"({"weight_map": {}})", "'weight_map' lists no tensors"},
      {with(idx, R"("b": "model-00001-of-00002.safetensors", )",
            R"("b": "model-00001-of-00002.safetensors", "b": "x", )"),
       "JSON key 'b' appears twice"},
  };
  for (const auto& c : cases) {
    ScratchDir d;
    write_shards(d);
    d.write("model.safetensors.index.json", c.index);
    EXPECT_FORMAT_ERROR(SafetensorsSet::open(d.path()), c.fragment);
  }
}

TEST(SafetensorsSet, TensorInTwoShards) {
  ScratchDir d;
  d.write("s1.safetensors", st_file({{"a", "F32", {1}}}));
  d.write("s2.safetensors", st_file({{"a", "F32", {1}}}));
  d.write("model.safetensors.index.json",
          std::string(R"({"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}})"));
  EXPECT_FORMAT_ERROR(SafetensorsSet::open(d.path()),
                      "tensor 'a' is in shard 's2.safetensors' but 'weight_map' puts it in 's1.safetensors'");
}

}  // namespace
}  // namespace forge
