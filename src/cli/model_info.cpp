#include "cli/model_info.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

namespace forge::cli {
namespace {

using nlohmann::json;

// A metadata value as JSON (arrays summarized by length, not copied whole).
json value_or_null(const GgufFile& f, const std::string& key) {
  const GgufValue* v = f.find(key);
  if (!v) return nullptr;
  return std::visit(
      [](const auto& x) -> json {
        using V = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<V, GgufArray>) {
          json items = json::array();
          for (size_t i = 0; i < x.items.size() && i < 64; ++i) {
            auto n = x.items[i].template as<double>();
            auto k = x.items[i].template as<int64_t>();
            if (k) items.push_back(*k);
            else if (n) items.push_back(*n);
            else items.push_back(x.items[i].to_display(0));
          }
          return items;
        } else if constexpr (std::is_same_v<V, float> || std::is_same_v<V, double>) {
          return static_cast<double>(x);
        } else {
          return x;
        }
      },
      v->storage());
}

// llama.cpp's `general.file_type` numbering (enum llama_ftype).
std::string file_type_name(int64_t ft) {
  static const std::map<int64_t, std::string> names = {
      {0, "F32"},     {1, "F16"},     {2, "Q4_0"},     {3, "Q4_1"},    {7, "Q8_0"},    {8, "Q5_0"},
      {9, "Q5_1"},    {10, "Q2_K"},   {11, "Q3_K_S"},  {12, "Q3_K_M"}, {13, "Q3_K_L"}, {14, "Q4_K_S"},
      {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"},  {18, "Q6_K"},   {19, "IQ2_XXS"}, {20, "IQ2_XS"},
      {21, "Q2_K_S"}, {22, "IQ3_XS"}, {23, "IQ3_XXS"}, {24, "IQ1_S"},  {25, "IQ4_NL"}, {26, "IQ3_S"},
      {27, "IQ3_M"},  {28, "IQ2_S"},  {29, "IQ2_M"},   {30, "IQ4_XS"}, {31, "IQ1_M"},  {32, "BF16"},
      {36, "TQ1_0"},  {37, "TQ2_0"},  {38, "MXFP4_MOE"}};
  auto it = names.find(ft);
  return it == names.end() ? "unknown (" + std::to_string(ft) + ")" : it->second;
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.2f %s" : "%.0f %s", b, units[u]);
  return buf;
}

std::string human_count(double n) {
  char buf[32];
  if (n >= 1e9) std::snprintf(buf, sizeof buf, "%.2fB", n / 1e9);
  else if (n >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
  else if (n >= 1e3) std::snprintf(buf, sizeof buf, "%.2fK", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", n);
  return buf;
}

std::string show(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v.get<double>());
    return buf;
  }
  return v.dump();
}

}  // namespace

json gguf_summary(const GgufFile& f, bool with_tensors) {
  json s;
  const std::string arch = f.get_or<std::string>("general.architecture", "");
  const std::string a = arch + ".";
  s["file"] = {{"path", f.path()},
               {"size_bytes", f.file_size()},
               {"gguf_version", f.version()},
               {"alignment", f.alignment()},
               {"tensor_data_offset", f.data_offset()}};
  json general = {{"architecture", arch.empty() ? json(nullptr) : json(arch)},
                  {"name", value_or_null(f, "general.name")},
                  {"quantization_version", value_or_null(f, "general.quantization_version")}};
  if (auto ft = f.get_optional<int64_t>("general.file_type")) general["file_type"] = file_type_name(*ft);
  else general["file_type"] = nullptr;
  s["general"] = general;

  uint64_t params = 0;
  std::map<std::string, json> mix;
  for (const auto& t : f.tensors()) {
    params += t.n_elements;
    std::string type(ggml_type_info(t.type).name);
    json& m = mix[type];
    if (m.is_null()) m = {{"type", type}, {"tensors", 0}, {"bytes", 0}, {"elements", 0}};
    m["tensors"] = m["tensors"].get<uint64_t>() + 1;
    m["bytes"] = m["bytes"].get<uint64_t>() + t.n_bytes;
    m["elements"] = m["elements"].get<uint64_t>() + t.n_elements;
  }
  s["parameters"] = params;
  s["tensor_count"] = f.tensors().size();
  s["quant_mix"] = json::array();
  for (auto& [_, m] : mix) s["quant_mix"].push_back(m);

  // Hyper-parameters under the architecture's key prefix (llama.cpp's names).
  json hp;
  hp["layers"] = value_or_null(f, a + "block_count");
  hp["hidden_size"] = value_or_null(f, a + "embedding_length");
  hp["heads"] = value_or_null(f, a + "attention.head_count");
  hp["kv_heads"] = value_or_null(f, a + "attention.head_count_kv");
  json head_dim = value_or_null(f, a + "attention.key_length");
  if (head_dim.is_null() && hp["hidden_size"].is_number() && hp["heads"].is_number_integer() &&
      hp["heads"].get<int64_t>() > 0) {
    head_dim = hp["hidden_size"].get<int64_t>() / hp["heads"].get<int64_t>();
  }
  hp["head_dim"] = head_dim;
  hp["value_dim"] = value_or_null(f, a + "attention.value_length");
  hp["ffn_size"] = value_or_null(f, a + "feed_forward_length");
  hp["context_length"] = value_or_null(f, a + "context_length");
  hp["rope_theta"] = value_or_null(f, a + "rope.freq_base");
  hp["rope_theta_local"] = value_or_null(f, a + "rope.freq_base_swa");
  hp["rope_dims"] = value_or_null(f, a + "rope.dimension_count");
  hp["rope_scaling"] = {{"type", value_or_null(f, a + "rope.scaling.type")},
                        {"factor", value_or_null(f, a + "rope.scaling.factor")},
                        {"original_context", value_or_null(f, a + "rope.scaling.original_context_length")},
                        {"rope_freqs_tensor", f.find_tensor("rope_freqs.weight") != nullptr}};
  json eps = value_or_null(f, a + "attention.layer_norm_rms_epsilon");
  hp["norm"] = eps.is_null() ? "layernorm" : "rmsnorm";
  if (eps.is_null()) eps = value_or_null(f, a + "attention.layer_norm_epsilon");
  hp["norm_epsilon"] = eps;
  hp["sliding_window"] = value_or_null(f, a + "attention.sliding_window");
  json vocab = value_or_null(f, a + "vocab_size");
  const GgufValue* tokens = f.find("tokenizer.ggml.tokens");
  const GgufArray* tok_arr = tokens ? tokens->as_array() : nullptr;
  if (vocab.is_null() && tok_arr) vocab = tok_arr->items.size();
  hp["vocab_size"] = vocab;
  s["hyperparameters"] = hp;

  json tok;
  tok["model"] = value_or_null(f, "tokenizer.ggml.model");
  tok["pre"] = value_or_null(f, "tokenizer.ggml.pre");
  tok["vocab_size"] = tok_arr ? json(tok_arr->items.size()) : json(nullptr);
  tok["merges"] = f.find("tokenizer.ggml.merges") && f.find("tokenizer.ggml.merges")->as_array()
                      ? json(f.find("tokenizer.ggml.merges")->as_array()->items.size())
                      : json(nullptr);
  for (const char* id : {"bos", "eos", "eot", "unknown", "padding"}) {
    tok[std::string(id) + "_id"] = value_or_null(f, std::string("tokenizer.ggml.") + id + "_token_id");
  }
  tok["add_bos"] = value_or_null(f, "tokenizer.ggml.add_bos_token");
  tok["add_eos"] = value_or_null(f, "tokenizer.ggml.add_eos_token");
  tok["chat_template"] = f.has("tokenizer.chat_template");
  s["tokenizer"] = tok;

  if (with_tensors) {
    json ts = json::array();
    for (const auto& t : f.tensors()) {
      ts.push_back({{"name", t.name},
                    {"type", std::string(ggml_type_info(t.type).name)},
                    {"shape", t.dims},
                    {"offset", f.data_offset() + t.offset},
                    {"bytes", t.n_bytes}});
    }
    s["tensors"] = ts;
  }
  return s;
}

std::string render_summary_text(const json& s) {
  std::ostringstream o;
  const json& file = s["file"];
  const json& g = s["general"];
  const json& hp = s["hyperparameters"];
  const json& tok = s["tokenizer"];
  char line[256];
  o << "file           " << file["path"].get<std::string>() << "\n";
  o << "size           " << human_bytes(file["size_bytes"].get<double>()) << " (" << file["size_bytes"].dump()
    << " bytes), GGUF v" << file["gguf_version"].dump() << ", alignment " << file["alignment"].dump() << "\n";
  o << "architecture   " << show(g["architecture"]) << "\n";
  o << "name           " << show(g["name"]) << "\n";
  o << "file type      " << show(g["file_type"]) << "\n";
  o << "parameters     " << human_count(s["parameters"].get<double>()) << " (" << s["parameters"].dump() << ") in "
    << s["tensor_count"].dump() << " tensors\n";
  if (!s["quant_mix"].empty()) {
    o << "\nquant mix      type      tensors          bytes\n";
    for (const auto& m : s["quant_mix"]) {
      std::snprintf(line, sizeof line, "               %-8s %8s %14s\n", m["type"].get<std::string>().c_str(),
                    m["tensors"].dump().c_str(), human_bytes(m["bytes"].get<double>()).c_str());
      o << line;
    }
  }
  o << "\nhyper-parameters\n";
  auto row = [&](const char* label, const json& v) { o << "  " << label << std::string(20 - std::strlen(label), ' ') << show(v) << "\n"; };
  row("layers", hp["layers"]);
  row("hidden size", hp["hidden_size"]);
  row("heads", hp["heads"]);
  row("kv heads", hp["kv_heads"]);
  row("head dim", hp["head_dim"]);
  row("ffn size", hp["ffn_size"]);
  row("context length", hp["context_length"]);
  row("rope theta", hp["rope_theta"]);
  if (!hp["rope_theta_local"].is_null()) row("rope theta (local)", hp["rope_theta_local"]);
  row("rope dims", hp["rope_dims"]);
  const json& rs = hp["rope_scaling"];
  std::string scaling = show(rs["type"]);
  if (!rs["factor"].is_null()) scaling += ", factor " + show(rs["factor"]);
  if (!rs["original_context"].is_null()) scaling += ", original context " + show(rs["original_context"]);
  if (rs["rope_freqs_tensor"].get<bool>()) scaling += (scaling == "-" ? "" : ", ") + std::string("rope_freqs tensor (llama3)");
  row("rope scaling", scaling == "-" ? json("none") : json(scaling));
  row("norm", json(show(hp["norm"]) + ", epsilon " + show(hp["norm_epsilon"])));
  if (!hp["sliding_window"].is_null()) row("sliding window", hp["sliding_window"]);
  row("vocab size", hp["vocab_size"]);
  o << "\ntokenizer\n";
  row("model", tok["model"]);
  row("pre-tokenizer", tok["pre"]);
  row("vocab size", tok["vocab_size"]);
  if (!tok["merges"].is_null()) row("merges", tok["merges"]);
  row("bos id", tok["bos_id"]);
  row("eos id", tok["eos_id"]);
  if (!tok["eot_id"].is_null()) row("eot id", tok["eot_id"]);
  row("add bos", tok["add_bos"]);
  row("chat template", json(tok["chat_template"].get<bool>() ? "yes" : "no"));
  if (s.contains("tensors")) {
    o << "\ntensors\n";
    std::snprintf(line, sizeof line, "  %-40s %-8s %-22s %12s %12s\n", "name", "type", "shape", "offset", "bytes");
    o << line;
    for (const auto& t : s["tensors"]) {
      std::string shape = t["shape"].dump();
      std::snprintf(line, sizeof line, "  %-40s %-8s %-22s %12s %12s\n", t["name"].get<std::string>().c_str(),
                    t["type"].get<std::string>().c_str(), shape.c_str(), t["offset"].dump().c_str(),
                    t["bytes"].dump().c_str());
      o << line;
    }
  }
  return o.str();
}

}  // namespace forge::cli
