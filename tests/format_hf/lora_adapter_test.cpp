// LoRA adapters: the fixture in both forms (PEFT folder, GGUF f32 and f16)
// with the values its README states, checked against the base model's
// weights and against each other; malformed adapters get clear errors.
#include "format/lora_adapter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "format/gguf_writer.h"
#include "format/safetensors_set.h"
#include "hf_test_util.h"

namespace forge {
namespace {

using testing::fixtures_dir;
using testing::ScratchDir;
using testing::st_file;
using testing::StEntry;

const std::string kLoraDir = fixtures_dir() + "/llama-lora";
// README: targets q_proj, v_proj, o_proj, gate_proj, down_proj.
const std::set<std::string> kHfTargets{"q_proj", "v_proj", "o_proj", "gate_proj", "down_proj"};

float f16_to_f32(uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float v =
      exp == 0 ? std::ldexp(static_cast<float>(mant), -24) : std::ldexp(static_cast<float>(mant | 0x400), exp - 25);
  return sign ? -v : v;  // no inf/nan in this data
}

float f32_at(const LoraMatrix& m, size_t i) {
  float v;
  std::memcpy(&v, m.data.data() + 4 * i, 4);
  return v;
}

TEST(LoraFixture, PeftFolder) {
  LoraAdapter a = LoraAdapter::open(kLoraDir);
  EXPECT_EQ(a.format(), LoraFormat::Peft);
  EXPECT_EQ(a.rank(), 4);
  EXPECT_EQ(a.alpha(), 8.0);
  EXPECT_FALSE(a.use_rslora());
  EXPECT_FALSE(a.fan_in_fan_out());
  EXPECT_EQ(a.base_model(), "../llama");
  EXPECT_EQ(std::set<std::string>(a.target_modules().begin(), a.target_modules().end()), kHfTargets);
  ASSERT_EQ(a.pairs().size() * 2, 20u);  // README: 20 tensors

  // Every pair fits the base model it was trained on: B @ A has the base weight's shape.
  SafetensorsSet base = SafetensorsSet::open(fixtures_dir() + "/llama");
  std::set<std::string> modules;
  uint64_t params = 0;
  for (const LoraPair& p : a.pairs()) {
    EXPECT_EQ(p.scale, 2.0) << p.target;  // README: scale 2
    EXPECT_EQ(p.rank, 4);
    EXPECT_EQ(p.a.type, GgmlType::F32);
    EXPECT_TRUE(p.layer == 0 || p.layer == 1) << p.target;
    const SafetensorsTensor* w = base.find(p.target);
    ASSERT_NE(w, nullptr) << p.target << " is not a weight of the base model";
    EXPECT_EQ(w->shape, (std::vector<int64_t>{p.b.rows, p.a.cols})) << p.target;
    modules.insert(p.module);
    params += static_cast<uint64_t>(p.a.rows * p.a.cols + p.b.rows * p.b.cols);
  }
  EXPECT_EQ(modules, kHfTargets);
  EXPECT_EQ(params, 5888u);  // README: 5,888 adapter parameters
  const LoraPair* q = a.find("model.layers.1.self_attn.q_proj.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->module, "q_proj");
  EXPECT_EQ(q->layer, 1);
  EXPECT_EQ(q->a.name, "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight");
}

// GGUF module name for an HF one, for comparing the two forms.
std::string gguf_target(const LoraPair& hf) {
  static const std::pair<const char*, const char*> kMap[] = {{"q_proj", "attn_q"},
                                                             {"v_proj", "attn_v"},
                                                             {"o_proj", "attn_output"},
                                                             {"gate_proj", "ffn_gate"},
                                                             {"down_proj", "ffn_down"}};
  for (auto [h, g] : kMap) {
    if (hf.module == h) return "blk." + std::to_string(hf.layer) + "." + g + ".weight";
  }
  return "?";
}

// Rows of a matrix as sorted byte strings: B of attn_q has its rows permuted
// by the converter (README, "RoPE layout"), so only the set of rows compares.
std::vector<std::string> sorted_rows(const LoraMatrix& m) {
  std::vector<std::string> rows;
  const size_t row_bytes = m.data.size() / static_cast<size_t>(m.rows);
  for (int64_t r = 0; r < m.rows; ++r) {
    rows.emplace_back(reinterpret_cast<const char*>(m.data.data() + r * row_bytes), row_bytes);
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

TEST(LoraFixture, GgufF32MatchesPeft) {
  LoraAdapter peft = LoraAdapter::open(kLoraDir);
  LoraAdapter g = LoraAdapter::open(kLoraDir + "/adapter-f32.gguf");
  EXPECT_EQ(g.format(), LoraFormat::Gguf);
  EXPECT_EQ(g.alpha(), 8.0);
  EXPECT_EQ(g.rank(), 4);
  EXPECT_EQ(g.base_model(), "llama");
  ASSERT_EQ(g.pairs().size() * 2, 20u);
  EXPECT_EQ(std::set<std::string>(g.target_modules().begin(), g.target_modules().end()),
            (std::set<std::string>{"attn_q", "attn_v", "attn_output", "ffn_gate", "ffn_down"}));
  for (const LoraPair& hp : peft.pairs()) {
    const LoraPair* gp = g.find(gguf_target(hp));
    ASSERT_NE(gp, nullptr) << gguf_target(hp);
    EXPECT_EQ(gp->scale, 2.0);
    EXPECT_EQ(gp->layer, hp.layer);
    EXPECT_EQ(gp->a.type, GgmlType::F32);
    ASSERT_EQ(gp->a.rows, hp.a.rows);
    ASSERT_EQ(gp->a.cols, hp.a.cols);
    ASSERT_EQ(gp->b.rows, hp.b.rows);
    ASSERT_EQ(gp->b.cols, hp.b.cols);
    EXPECT_TRUE(std::equal(gp->a.data.begin(), gp->a.data.end(), hp.a.data.begin(), hp.a.data.end())) << gp->a.name;
    if (hp.module == "q_proj") {
      EXPECT_EQ(sorted_rows(gp->b), sorted_rows(hp.b)) << gp->b.name;
    } else {
      EXPECT_TRUE(std::equal(gp->b.data.begin(), gp->b.data.end(), hp.b.data.begin(), hp.b.data.end())) << gp->b.name;
    }
  }
}

TEST(LoraFixture, GgufF16IsPeftRounded) {
  LoraAdapter peft = LoraAdapter::open(kLoraDir);
  LoraAdapter g = LoraAdapter::open(kLoraDir + "/adapter-f16.gguf");
  ASSERT_EQ(g.pairs().size(), 10u);
  for (const LoraPair& hp : peft.pairs()) {
    const LoraPair* gp = g.find(gguf_target(hp));
    ASSERT_NE(gp, nullptr);
    ASSERT_EQ(gp->a.type, GgmlType::F16);
    ASSERT_EQ(gp->a.data.size() * 2, hp.a.data.size());
    for (size_t i = 0; i < static_cast<size_t>(hp.a.rows * hp.a.cols); ++i) {
      uint16_t h;
      std::memcpy(&h, gp->a.data.data() + 2 * i, 2);
      const float ref = f32_at(hp.a, i);
      // Round to nearest f16: relative error at most 2^-11 (plus subnormal spacing).
      ASSERT_NEAR(f16_to_f32(h), ref, std::abs(ref) * 0x1p-11f + 0x1p-25f) << gp->a.name << " [" << i << "]";
    }
  }
}

// ---- malformed adapters ----

const std::string kConfig = R"({"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"],
  "use_rslora": false, "fan_in_fan_out": false, "base_model_name_or_path": "x", "bias": "none",
  "rank_pattern": {}, "alpha_pattern": {}, "modules_to_save": null, "use_dora": false})";

std::vector<StEntry> good_tensors() {
  return {{"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", "F32", {4, 64}},
          {"base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", "F32", {64, 4}},
          {"base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight", "F32", {4, 64}},
          {"base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight", "F32", {32, 4}}};
}

std::string peft_dir(const ScratchDir& d, const std::string& config, const std::vector<StEntry>& tensors) {
  d.write("adapter_config.json", config);
  d.write("adapter_model.safetensors", st_file(tensors));
  return d.path();
}

std::string with(std::string config, const std::string& from, const std::string& to) {
  auto at = config.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return config.replace(at, from.size(), to);
}

TEST(LoraMalformed, GoodBaselineReads) {
  ScratchDir d;
  LoraAdapter a = LoraAdapter::open(peft_dir(d, kConfig, good_tensors()));
  ASSERT_EQ(a.pairs().size(), 2u);
  EXPECT_EQ(a.pairs()[1].b.rows, 32);
}

TEST(LoraMalformed, RsloraScale) {
  ScratchDir d;
  LoraAdapter a =
      LoraAdapter::open(peft_dir(d, with(kConfig, "\"use_rslora\": false", "\"use_rslora\": true"), good_tensors()));
  EXPECT_EQ(a.pairs()[0].scale, 8.0 / 2.0);  // alpha / sqrt(4)
}

TEST(LoraMalformed, UnknownTargetModule) {
  ScratchDir d;
  EXPECT_FORMAT_ERROR(
      LoraAdapter::open(peft_dir(d, with(kConfig, "\"v_proj\"]", "\"v_proj\", \"wqkv\"]"), good_tensors())),
      "target module 'wqkv' is not one Forge can adapt");
  ScratchDir d2;
  auto ts = good_tensors();
  ts[0].name = "base_model.model.model.layers.0.mlp.fc1.lora_A.weight";
  ts[1].name = "base_model.model.model.layers.0.mlp.fc1.lora_B.weight";
  EXPECT_FORMAT_ERROR(LoraAdapter::open(peft_dir(d2, with(kConfig, "[\"q_proj\", \"v_proj\"]", "\"all-linear\""), ts)),
                      "adapts module 'fc1', which Forge cannot adapt");
  ScratchDir d3;
  ts = good_tensors();
  ts[0].name = "base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight";
  ts[1].name = "base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight";
  EXPECT_FORMAT_ERROR(LoraAdapter::open(peft_dir(d3, kConfig, ts)),
                      "adapts module 'k_proj', which adapter_config.json's target_modules does not list");
}

TEST(LoraMalformed, ShapeMismatch) {
  ScratchDir d;
  auto ts = good_tensors();
  ts[0].shape = {5, 64};
  ts[1].shape = {64, 5};
  EXPECT_FORMAT_ERROR(LoraAdapter::open(peft_dir(d, kConfig, ts)), "have rank 5, but r is 4");
  ScratchDir d2;
  ts = good_tensors();
  ts[3].shape = {32, 3};
  EXPECT_FORMAT_ERROR(LoraAdapter::open(peft_dir(d2, kConfig, ts)), "disagree on the rank");
  ScratchDir d3;
  ts = good_tensors();
  ts[0].shape = {4, 8, 8};
  EXPECT_FORMAT_ERROR(LoraAdapter::open(peft_dir(d3, kConfig, ts)), "expected 2 dimensions");
}

TEST(LoraMalformed, MissingPartner) {
  ScratchDir d;
  auto ts = good_tensors();
  ts.erase(ts.begin() + 3);
  EXPECT_FORMAT_ERROR(LoraAdapter::open(peft_dir(d, kConfig, ts)),
                      "tensor 'base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight' has no partner "
                      "'model.layers.0.self_attn.v_proj.lora_B.weight'");
}

TEST(LoraMalformed, ForeignTensorsAndDtypes) {
  ScratchDir d;
  auto ts = good_tensors();
  ts.push_back({"base_model.model.lm_head.weight", "F32", {4}});
  EXPECT_FORMAT_ERROR(LoraAdapter::open(peft_dir(d, kConfig, ts)),
                      "'base_model.model.lm_head.weight' is not a LoRA matrix");
  ScratchDir d2;
  ts = good_tensors();
  ts[0].dtype = "I64";
  ts[0].element_size = 8;
  EXPECT_FORMAT_ERROR(LoraAdapter::open(peft_dir(d2, kConfig, ts)),
                      "has dtype I64; LoRA matrices must be F32, F16 or BF16");
}

TEST(LoraMalformed, ConfigRefusals) {
  struct Case {
    std::string from, to, fragment;
  };
  const Case cases[] = {
      {"\"use_dora\": false", "\"use_dora\": true", "DoRA is not supported"},
      {"\"rank_pattern\": {}", "\"rank_pattern\": {\"q_proj\": 8}", "a per-module rank is not supported"},
      {"\"modules_to_save\": null", "\"modules_to_save\": [\"lm_head\"]", "'modules_to_save' is [\"lm_head\"]"},
      {"\"bias\": \"none\"", "\"bias\": \"all\"", "training biases is not supported"},
      {"\"peft_type\": \"LORA\"", "\"peft_type\": \"IA3\"", "peft_type is 'IA3'"},
      {"\"r\": 4", "\"r\": 0", "key 'r' is 0, expected a positive rank"},
      {"\"r\": 4", "\"r\": \"4\"", "key 'r' has type string"},
      {"\"lora_alpha\": 8,", "", "key 'lora_alpha' is missing"},
      {"\"target_modules\": [\"q_proj\", \"v_proj\"]", "\"target_modules\": [\"q_proj\", 3]",
       "item 1 has type integer"},
  };
  for (const auto& c : cases) {
    ScratchDir d;
    EXPECT_FORMAT_ERROR(LoraAdapter::open(peft_dir(d, with(kConfig, c.from, c.to), good_tensors())), c.fragment);
  }
  ScratchDir d;
  EXPECT_FORMAT_ERROR(LoraAdapter::open(d.path()), "adapter_config.json: cannot open");
}

// A GGUF adapter built with the format layer's writer.
std::vector<uint8_t> gguf_adapter(const std::vector<std::pair<std::string, std::vector<int64_t>>>& tensors,
                                  const std::string& general_type = "adapter",
                                  const std::string& adapter_type = "lora") {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_string("general.type", general_type);
  w.set_string("adapter.type", adapter_type);
  w.set_f32("adapter.lora.alpha", 16.0f);
  for (const auto& [name, dims] : tensors) {
    w.add_tensor(name, GgmlType::F32, dims, std::vector<uint8_t>(static_cast<size_t>(dims[0] * dims[1]) * 4));
  }
  return w.to_bytes();
}

TEST(LoraGguf, ScaleAndErrors) {
  ScratchDir d;
  // GGML order: A is [in, rank], B is [rank, out].
  LoraAdapter a = LoraAdapter::open(d.write(
      "a.gguf", gguf_adapter({{"blk.3.attn_k.weight.lora_a", {64, 8}}, {"blk.3.attn_k.weight.lora_b", {8, 32}}})));
  ASSERT_EQ(a.pairs().size(), 1u);
  EXPECT_EQ(a.pairs()[0].scale, 2.0);  // 16 / 8
  EXPECT_EQ(a.pairs()[0].layer, 3);
  EXPECT_EQ(a.pairs()[0].module, "attn_k");
  EXPECT_EQ(a.pairs()[0].a.rows, 8);
  EXPECT_EQ(a.pairs()[0].a.cols, 64);
  EXPECT_EQ(a.pairs()[0].b.rows, 32);

  EXPECT_FORMAT_ERROR(LoraAdapter::open(d.write("m.gguf", gguf_adapter({{"x.weight.lora_a", {4, 4}}}, "model"))),
                      "not an adapter (general.type is 'model'");
  EXPECT_FORMAT_ERROR(
      LoraAdapter::open(d.write("c.gguf", gguf_adapter({{"x.weight.lora_a", {4, 4}}}, "adapter", "control_vector"))),
      "adapter.type is 'control_vector'");
  EXPECT_FORMAT_ERROR(LoraAdapter::open(d.write("u.gguf", gguf_adapter({{"blk.0.attn_zz.weight.lora_a", {64, 4}},
                                                                        {"blk.0.attn_zz.weight.lora_b", {4, 64}}}))),
                      "adapts module 'attn_zz', which Forge cannot adapt");
  EXPECT_FORMAT_ERROR(LoraAdapter::open(d.write("p.gguf", gguf_adapter({{"blk.0.attn_q.weight.lora_b", {4, 64}}}))),
                      "'blk.0.attn_q.weight.lora_b' has no partner 'blk.0.attn_q.weight.lora_a'");
  EXPECT_FORMAT_ERROR(LoraAdapter::open(d.write("s.gguf", gguf_adapter({{"blk.0.attn_q.weight.lora_a", {64, 4}},
                                                                        {"blk.0.attn_q.weight.lora_b", {8, 64}}}))),
                      "disagree on the rank");
  EXPECT_FORMAT_ERROR(LoraAdapter::open(d.write("n.gguf", gguf_adapter({{"blk.0.attn_q.weight", {64, 4}}}))),
                      "is not a LoRA matrix");
  EXPECT_FORMAT_ERROR(LoraAdapter::open(d.file("adapter.bin")), "not a LoRA adapter");
}

}  // namespace
}  // namespace forge
