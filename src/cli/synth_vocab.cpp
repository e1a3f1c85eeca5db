#include "cli/synth_vocab.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "nlohmann/json.hpp"

namespace forge::cli {

namespace {

// llama.cpp's token types (enum llama_token_type / gguf TokenType).
constexpr int32_t kNormal = 1;
constexpr int32_t kControl = 3;
constexpr int32_t kUnused = 5;

GgufValue i32(int32_t v) { return GgufValue(GgufValue::Storage(v)); }
GgufValue f32(float v) { return GgufValue(GgufValue::Storage(v)); }

GgufValue string_array(const std::vector<std::string>& items) {
  std::vector<GgufValue> v;
  v.reserve(items.size());
  for (const auto& s : items) v.push_back(GgufValue::string(s));
  return GgufValue::array(GgufValueType::STRING, std::move(v));
}

GgufValue i32_array(const std::vector<int32_t>& items) {
  std::vector<GgufValue> v;
  v.reserve(items.size());
  for (int32_t x : items) v.push_back(i32(x));
  return GgufValue::array(GgufValueType::I32, std::move(v));
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read '" + p.string() + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The converter names rows past the tokenizer "[PAD<id>]", type UNUSED.
void pad_vocab(std::vector<GgufValue>& tokens, std::vector<GgufValue>* types, std::vector<GgufValue>* scores,
               int n_vocab) {
  for (int id = static_cast<int>(tokens.size()); id < n_vocab; ++id) {
    tokens.push_back(GgufValue::string("[PAD" + std::to_string(id) + "]"));
    if (types) types->push_back(i32(kUnused));
    if (scores) scores->push_back(f32(-1000.0f));
  }
}

std::string copy_gguf_vocab(GgufWriter& w, const SynthPreset& p, const std::filesystem::path& path) {
  const GgufFile v = GgufFile::open(path.string());
  for (const auto& [key, value] : v.metadata()) {
    if (key.rfind("tokenizer.", 0) == 0) w.set(key, value);
  }
  const GgufValue* toks = v.find("tokenizer.ggml.tokens");
  if (!toks || !toks->as_array()) throw std::runtime_error(path.string() + ": no tokenizer.ggml.tokens array");
  std::vector<GgufValue> tokens = toks->as_array()->items;
  const size_t n_real = tokens.size();
  if (n_real > static_cast<size_t>(p.n_vocab)) {
    throw std::runtime_error(path.string() + ": " + std::to_string(n_real) + " tokens, more than the " +
                             std::to_string(p.n_vocab) + " rows of " + std::string(p.name) + "'s embedding");
  }
  std::vector<GgufValue> types, scores;
  const GgufValue* t = v.find("tokenizer.ggml.token_type");
  const GgufValue* s = v.find("tokenizer.ggml.scores");
  if (t && t->as_array()) types = t->as_array()->items;
  if (s && s->as_array()) scores = s->as_array()->items;
  pad_vocab(tokens, t ? &types : nullptr, s ? &scores : nullptr, p.n_vocab);
  w.set("tokenizer.ggml.tokens", GgufValue::array(GgufValueType::STRING, std::move(tokens)));
  if (t) w.set("tokenizer.ggml.token_type", GgufValue::array(GgufValueType::I32, std::move(types)));
  if (s) w.set("tokenizer.ggml.scores", GgufValue::array(GgufValueType::F32, std::move(scores)));
  return path.filename().string() + " (" + std::to_string(n_real) + " tokens)";
}

// A tokenizer.json's byte-level BPE in the form convert_hf_to_gguf.py writes.
std::string convert_tokenizer_json(GgufWriter& w, const SynthPreset& p, const std::filesystem::path& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text(path));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path.string() + ": not valid JSON (" + e.what() + ")");
  }
  const auto& model = j.at("model");
  if (model.value("type", "") != "BPE") throw std::runtime_error(path.string() + ": not a BPE tokenizer");
  std::vector<std::string> tokens(p.n_vocab);
  std::vector<int32_t> types(p.n_vocab, kUnused);
  int n_real = 0;
  auto put = [&](int id, const std::string& text, int32_t type) {
    if (id < 0 || id >= p.n_vocab) return;  // e.g. a [PAD] added past the embedding
    if (types[id] == kUnused) ++n_real;
    tokens[id] = text;
    types[id] = type;
  };
  for (const auto& [text, id] : model.at("vocab").items()) put(id.get<int>(), text, kNormal);
  for (const auto& a : j.value("added_tokens", nlohmann::json::array())) {
    put(a.at("id").get<int>(), a.at("content").get<std::string>(), a.value("special", false) ? kControl : kNormal);
  }
  for (int id = 0; id < p.n_vocab; ++id) {
    if (types[id] == kUnused) tokens[id] = "[PAD" + std::to_string(id) + "]";
  }
  std::vector<std::string> merges;
  for (const auto& m : model.at("merges")) {
    merges.push_back(m.is_string() ? m.get<std::string>() : m.at(0).get<std::string>() + " " + m.at(1).get<std::string>());
  }
  auto id_of = [&](const std::string& text) -> int {
    for (int id = 0; id < p.n_vocab; ++id) {
      if (tokens[id] == text) return id;
    }
    throw std::runtime_error(path.string() + ": special token '" + text + "' is not in the vocabulary");
  };
  // BOS / EOS from tokenizer_config.json beside it ("bos_token": "..." or {"content": ...}).
  int bos = -1, eos = -1;
  const auto cfg_path = path.parent_path() / "tokenizer_config.json";
  if (std::filesystem::exists(cfg_path)) {
    const auto cfg = nlohmann::json::parse(read_text(cfg_path));
    auto special = [&](const char* key) {
      if (!cfg.contains(key) || cfg[key].is_null()) return -1;
      const auto& v = cfg[key];
      return id_of(v.is_string() ? v.get<std::string>() : v.at("content").get<std::string>());
    };
    bos = special("bos_token");
    eos = special("eos_token");
  }

  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", std::string(p.pre_tokenizer));
  w.set("tokenizer.ggml.tokens", string_array(tokens));
  w.set("tokenizer.ggml.token_type", i32_array(types));
  w.set("tokenizer.ggml.merges", string_array(merges));
  if (bos >= 0) w.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(bos));
  if (eos >= 0) w.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(eos));
  return path.parent_path().filename().string() + "/tokenizer.json (" + std::to_string(n_real) + " tokens)";
}

// GPT-2's byte-to-unicode table: printable bytes stand for themselves, the
// others for code points from U+0100 upward.
std::vector<std::string> byte_tokens() {
  auto utf8 = [](uint32_t cp) {
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return s;
  };
  std::vector<std::string> out(256);
  uint32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    out[b] = utf8(printable ? static_cast<uint32_t>(b) : next++);
  }
  return out;
}

}  // namespace

std::string write_real_vocab(GgufWriter& w, const SynthPreset& p, const std::string& data_dir) {
  const std::filesystem::path path = std::filesystem::path(data_dir) / p.vocab_path;
  if (!std::filesystem::exists(path)) {
    throw std::runtime_error("vocabulary file '" + path.string() + "' is missing (--data should name the shared " +
                             "data folder; --vocab generated needs none)");
  }
  std::string what = p.vocab == VocabSource::kGguf ? copy_gguf_vocab(w, p, path) : convert_tokenizer_json(w, p, path);
  if (!p.chat_template.empty()) {
    const auto tpl = std::filesystem::path(data_dir) / p.chat_template;
    if (std::filesystem::exists(tpl)) w.set_string("tokenizer.chat_template", read_text(tpl));
  }
  return what;
}

std::string write_generated_vocab(GgufWriter& w, int n_vocab) {
  const std::vector<std::string> bytes = byte_tokens();
  std::vector<std::string> tokens = bytes;
  std::vector<int32_t> types(256, kNormal);
  tokens.push_back("<|endoftext|>");
  types.push_back(kControl);
  // Pieces of printable ASCII (space spelled 'Ġ'), pairs first, then each
  // pair extended by one more character: every merge joins two tokens that
  // exist, and every result is new.
  std::vector<std::string> printable;
  for (int b = 32; b < 127; ++b) printable.push_back(bytes[b]);
  std::vector<std::string> merges;
  std::vector<std::string> pairs;
  for (const auto& a : printable) {
    for (const auto& b : printable) {
      if (static_cast<int>(tokens.size()) >= n_vocab) break;
      merges.push_back(a + " " + b);
      tokens.push_back(a + b);
      types.push_back(kNormal);
      pairs.push_back(a + b);
    }
  }
  for (const auto& a : pairs) {
    for (const auto& b : printable) {
      if (static_cast<int>(tokens.size()) >= n_vocab) break;
      merges.push_back(a + " " + b);
      tokens.push_back(a + b);
      types.push_back(kNormal);
    }
  }
  if (static_cast<int>(tokens.size()) < n_vocab) {
    throw std::invalid_argument("a generated vocabulary holds at most " + std::to_string(tokens.size()) + " tokens");
  }
  tokens.resize(static_cast<size_t>(n_vocab));
  types.resize(static_cast<size_t>(n_vocab));
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "gpt-2");
  w.set("tokenizer.ggml.tokens", string_array(tokens));
  w.set("tokenizer.ggml.token_type", i32_array(types));
  w.set("tokenizer.ggml.merges", string_array(merges));
  w.set_u32("tokenizer.ggml.bos_token_id", 256);
  w.set_u32("tokenizer.ggml.eos_token_id", 256);
  return "generated byte-level BPE (" + std::to_string(n_vocab) + " tokens)";
}

}  // namespace forge::cli
