// Every fixture from its Hugging Face folder (config.json + model.safetensors)
// against reference.json: F32 within 1e-4, greedy ids exact. Mistral's folder
// carries its sliding window, so it must match the windowed `logits`.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "format/format_error.h"
#include "golden_check.h"
#include "model/hf_model.h"
#include "model/model_error.h"
#include "quant/fp16.h"

namespace forge::testing {
namespace {

namespace fs = std::filesystem;

class HfArchitecture : public ::testing::TestWithParam<std::string> {};

TEST_P(HfArchitecture, F32) {
  SCOPED_TRACE(GetParam());
  auto m = model::open_hf_model(kFixtures + GetParam());
  check_spec(m->spec, GetParam(), {1e-4});
}

INSTANTIATE_TEST_SUITE_P(Fixtures, HfArchitecture,
                         ::testing::Values("llama", "llama-tied-rope3", "llama-k", "qwen2", "phi3", "mistral", "gemma",
                                           "gemma2", "gemma3", "stablelm", "stablelm-par"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

// A scratch folder under the build tree, removed afterwards.
struct ScratchDir {
  fs::path path;
  explicit ScratchDir(const std::string& name) : path(fs::temp_directory_path() / ("forge_model_" + name)) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~ScratchDir() { fs::remove_all(path); }
};

nlohmann::json read_json(const fs::path& p) {
  return load_json(p.string());
}

void write_text(const fs::path& p, const std::string& s) {
  std::ofstream(p, std::ios::binary) << s;
}

// A SafeTensors file of the given tensors (name -> dtype, shape, bytes), in
// the format's layout: u64 header length, JSON header, packed data.
struct OutTensor {
  std::string name, dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};
void write_safetensors(const fs::path& p, const std::vector<OutTensor>& ts) {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  uint64_t off = 0;
  for (const auto& t : ts) {
    h[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {off, off + t.bytes.size()}}};
    off += t.bytes.size();
  }
  std::string header = h.dump();
  while (header.size() % 8) header += ' ';
  std::ofstream out(p, std::ios::binary);
  const uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header;
  for (const auto& t : ts) out.write(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size());
}

// The llama fixture's F32 tensors re-encoded as `dtype` (F16 or BF16).
std::vector<OutTensor> llama_tensors_as(const std::string& dtype) {
  SafetensorsFile f = SafetensorsFile::open(kFixtures + "llama/model.safetensors");
  std::vector<OutTensor> out;
  for (const auto& t : f.tensors()) {
    OutTensor o{t.name, dtype, t.shape, {}};
    const float* x = reinterpret_cast<const float*>(t.data.data());
    o.bytes.resize(t.n_elements * 2);
    for (uint64_t i = 0; i < t.n_elements; ++i) {
      uint16_t v;
      if (dtype == "F16") {
        v = quant::fp32_to_fp16(x[i]);
      } else {  // BF16, round to nearest even
        uint32_t u;
        std::memcpy(&u, &x[i], 4);
        v = static_cast<uint16_t>((u + 0x7fff + ((u >> 16) & 1)) >> 16);
      }
      std::memcpy(&o.bytes[2 * i], &v, 2);
    }
    out.push_back(std::move(o));
  }
  return out;
}

// Narrow weights: rounding moves logits by ~0.01 (F16) to ~0.1 (BF16, 8-bit
// mantissa), so these check the decoding, with F16's 0.05 and a BF16 bound of
// 0.5 (the reference run gives no BF16 figure; a wrong decoding is off by
// whole units).
TEST(HfFolder, F16AndBF16Weights) {
  for (const std::string dtype : {"F16", "BF16"}) {
    SCOPED_TRACE(dtype);
    ScratchDir dir("hf_" + dtype);
    fs::copy_file(kFixtures + "llama/config.json", dir.path / "config.json");
    write_safetensors(dir.path / "model.safetensors", llama_tensors_as(dtype));
    auto m = model::open_hf_model(dir.path.string());
    EXPECT_EQ(m->spec.layers[0].wq.type, dtype == "F16" ? GgmlType::F16 : GgmlType::BF16);
    check_spec(m->spec, "llama", {dtype == "F16" ? 0.05 : 0.5, "logits", false});
  }
}

// Two shards and an index: the same model.
TEST(HfFolder, Sharded) {
  ScratchDir dir("hf_sharded");
  fs::copy_file(kFixtures + "llama/config.json", dir.path / "config.json");
  SafetensorsFile f = SafetensorsFile::open(kFixtures + "llama/model.safetensors");
  std::vector<OutTensor> a, b;
  nlohmann::ordered_json index = {{"metadata", nlohmann::ordered_json::object()},
                                  {"weight_map", nlohmann::ordered_json::object()}};
  for (const auto& t : f.tensors()) {
    const bool first = t.name.find("layers.1.") == std::string::npos;
    OutTensor o{t.name, "F32", t.shape, std::vector<uint8_t>(t.data.begin(), t.data.end())};
    (first ? a : b).push_back(std::move(o));
    index["weight_map"][t.name] = first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  write_safetensors(dir.path / "model-00001-of-00002.safetensors", a);
  write_safetensors(dir.path / "model-00002-of-00002.safetensors", b);
  write_text(dir.path / "model.safetensors.index.json", index.dump());
  auto m = model::open_hf_model(dir.path.string());
  check_spec(m->spec, "llama", {1e-4});
}

// config.json that contradicts the weights, an unknown architecture, an
// unsupported rope type: clear errors naming what is wrong.
TEST(HfFolder, ConfigContradictingWeightsIsAnError) {
  auto expect_error = [](const std::string& name, auto edit, const std::string& needle) {
    SCOPED_TRACE(name);
    ScratchDir dir(name);
    nlohmann::json c = read_json(kFixtures + "llama/config.json");
    edit(c);
    write_text(dir.path / "config.json", c.dump(2));
    fs::create_symlink(kFixtures + "llama/model.safetensors", dir.path / "model.safetensors");
    try {
      model::open_hf_model(dir.path.string());
      ADD_FAILURE() << "no error";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error(
      "ff", [](auto& c) { c["intermediate_size"] = 96; }, "'model.layers.0.mlp.gate_proj.weight' has shape [128, 64]");
  expect_error(
      "kv", [](auto& c) { c["num_key_value_heads"] = 4; }, "k_proj.weight' has shape [32, 64] but");
  expect_error(
      "layers", [](auto& c) { c["num_hidden_layers"] = 3; }, "'model.layers.2.input_layernorm.weight' is missing");
  expect_error(
      "vocab", [](auto& c) { c["vocab_size"] = 1000; }, "'model.embed_tokens.weight' has shape [512, 64]");
  expect_error(
      "arch", [](auto& c) { c["architectures"] = {"FalconForCausalLM"}; },
      "architecture 'FalconForCausalLM' is not supported");
  expect_error(
      "rope", [](auto& c) { c["rope_parameters"]["rope_type"] = "yarn"; }, "rope type 'yarn'");
  expect_error(
      "act", [](auto& c) { c["hidden_act"] = "relu"; }, "activation 'relu' is not supported");
}

}  // namespace
}  // namespace forge::testing
