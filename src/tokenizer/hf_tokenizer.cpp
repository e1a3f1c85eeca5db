// A Tokenizer from Hugging Face tokenizer.json (+ tokenizer_config.json):
// model BPE, and the normalizers, pre-tokenizers, decoders and
// post-processors listed in docs/tokenizers.md. Anything else is refused
// with an error naming it, rather than tokenized differently.
#include <zlib.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tokenizer/tokenizer_builder.h"
#include "tokenizer/utf8.h"

namespace forge {
namespace {

using nlohmann::json;

struct Ctx {
  const std::string& name;
  [[noreturn]] void fail(const std::string& what) const { throw TokenizerError(name + ": " + what); }
};

std::string str_or(const json& j, const char* key, const std::string& fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}
bool bool_or(const json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

// {"String": "..."} or {"Regex": "..."}
void parse_pattern(const Ctx& c, const json& p, std::string& literal, std::shared_ptr<const Regex>& regex) {
  if (!p.is_object()) c.fail("pattern is not an object");
  if (p.contains("String")) literal = p.at("String").get<std::string>();
  else if (p.contains("Regex")) regex = std::make_shared<Regex>(p.at("Regex").get<std::string>());
  else c.fail("pattern is neither String nor Regex");
}

SplitBehavior parse_behavior(const Ctx& c, const std::string& b) {
  if (b == "Removed") return SplitBehavior::Removed;
  if (b == "Isolated") return SplitBehavior::Isolated;
  if (b == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (b == "Contiguous") return SplitBehavior::Contiguous;
  c.fail("unknown split behavior '" + b + "'");
}

PreTokenizerStep::Prepend parse_prepend(const json& j) {
  if (j.contains("prepend_scheme") && j["prepend_scheme"].is_string()) {
    const std::string s = j["prepend_scheme"];
    if (s == "first") return PreTokenizerStep::Prepend::First;
    if (s == "never") return PreTokenizerStep::Prepend::Never;
    return PreTokenizerStep::Prepend::Always;
  }
  return bool_or(j, "add_prefix_space", true) ? PreTokenizerStep::Prepend::Always : PreTokenizerStep::Prepend::Never;
}

void parse_normalizer(const Ctx& c, const json& j, Normalizer& out) {
  if (j.is_null()) return;
  const std::string type = str_or(j, "type", "");
  using K = NormalizerStep::Kind;
  if (type == "Sequence") {
    for (const auto& n : j.at("normalizers")) parse_normalizer(c, n, out);
  } else if (type == "Prepend") {
    out.add({K::Prepend, j.at("prepend").get<std::string>(), "", nullptr});
  } else if (type == "Replace") {
    NormalizerStep s{K::Replace, "", j.at("content").get<std::string>(), nullptr};
    parse_pattern(c, j.at("pattern"), s.text, s.regex);
    out.add(std::move(s));
  } else if (type == "NFC" || type == "NFKC" || type == "NFD" || type == "NFKD") {
    const K k = type == "NFC" ? K::Nfc : type == "NFKC" ? K::Nfkc : type == "NFD" ? K::Nfd : K::Nfkd;
    out.add({k, "", "", nullptr});
  } else if (type == "Lowercase") {
    out.add({K::Lowercase, "", "", nullptr});
  } else if (type == "Strip") {
    NormalizerStep s{K::Strip, "", "", nullptr};
    s.strip_left = bool_or(j, "strip_left", true);
    s.strip_right = bool_or(j, "strip_right", true);
    out.add(std::move(s));
  } else {
    c.fail("unsupported normalizer '" + type + "'");
  }
}

void parse_pre_tokenizer(const Ctx& c, const json& j, PreTokenizer& out) {
  if (j.is_null()) return;
  const std::string type = str_or(j, "type", "");
  using K = PreTokenizerStep::Kind;
  if (type == "Sequence") {
    for (const auto& p : j.at("pretokenizers")) parse_pre_tokenizer(c, p, out);
  } else if (type == "Split") {
    PreTokenizerStep s(K::Split);
    parse_pattern(c, j.at("pattern"), s.literal, s.regex);
    s.behavior = parse_behavior(c, str_or(j, "behavior", "Isolated"));
    s.invert = bool_or(j, "invert", false);
    out.add(std::move(s));
  } else if (type == "ByteLevel") {
    PreTokenizerStep s(K::ByteLevel);
    s.add_prefix_space = bool_or(j, "add_prefix_space", true);
    if (bool_or(j, "use_regex", true)) s.regex = std::make_shared<Regex>(kGpt2Pattern);
    out.add(std::move(s));
  } else if (type == "Metaspace") {
    PreTokenizerStep s(K::Metaspace);
    s.literal = str_or(j, "replacement", "\xE2\x96\x81");
    s.prepend = parse_prepend(j);
    s.split = bool_or(j, "split", true);
    out.add(std::move(s));
  } else if (type == "Digits") {
    PreTokenizerStep s(K::Digits);
    s.individual_digits = bool_or(j, "individual_digits", false);
    out.add(std::move(s));
  } else if (type == "Punctuation") {
    PreTokenizerStep s(K::Punctuation);
    s.behavior = parse_behavior(c, str_or(j, "behavior", "Isolated"));
    out.add(std::move(s));
  } else if (type == "Whitespace") {
    PreTokenizerStep s(K::Whitespace);
    s.regex = std::make_shared<Regex>("\\w+|[^\\w\\s]+");
    out.add(std::move(s));
  } else if (type == "WhitespaceSplit") {
    PreTokenizerStep s(K::WhitespaceSplit);
    s.regex = std::make_shared<Regex>("\\S+");
    out.add(std::move(s));
  } else {
    c.fail("unsupported pre-tokenizer '" + type + "'");
  }
}

void parse_decoder(const Ctx& c, const json& j, Decoder& out) {
  if (j.is_null()) return;
  const std::string type = str_or(j, "type", "");
  using K = DecoderStep::Kind;
  if (type == "Sequence") {
    for (const auto& d : j.at("decoders")) parse_decoder(c, d, out);
  } else if (type == "ByteLevel") {
    out.add({K::ByteLevel, "", "", nullptr});
  } else if (type == "Metaspace") {
    DecoderStep s{K::Metaspace, str_or(j, "replacement", "\xE2\x96\x81"), "", nullptr};
    s.prepend = parse_prepend(j) != PreTokenizerStep::Prepend::Never;
    out.add(std::move(s));
  } else if (type == "ByteFallback") {
    out.add({K::ByteFallback, "", "", nullptr});
  } else if (type == "Fuse") {
    out.add({K::Fuse, "", "", nullptr});
  } else if (type == "Strip") {
    DecoderStep s{K::Strip, j.at("content").get<std::string>(), "", nullptr};
    s.start = j.value("start", size_t{0});
    s.stop = j.value("stop", size_t{0});
    out.add(std::move(s));
  } else if (type == "Replace") {
    DecoderStep s{K::Replace, "", j.at("content").get<std::string>(), nullptr};
    parse_pattern(c, j.at("pattern"), s.text, s.regex);
    out.add(std::move(s));
  } else {
    c.fail("unsupported decoder '" + type + "'");
  }
}

void parse_post_processor(const Ctx& c, const json& j, const Vocab& v, std::vector<int32_t>& prefix,
                          std::vector<int32_t>& suffix) {
  if (j.is_null()) return;
  const std::string type = str_or(j, "type", "");
  if (type == "Sequence") {
    for (const auto& p : j.at("processors")) parse_post_processor(c, p, v, prefix, suffix);
  } else if (type == "ByteLevel") {
    // Only adjusts offsets.
  } else if (type == "TemplateProcessing") {
    const json& specials = j.at("special_tokens");
    bool seen_a = false;
    for (const auto& item : j.at("single")) {
      if (item.contains("Sequence")) {
        seen_a = true;
      } else if (item.contains("SpecialToken")) {
        const std::string id = item["SpecialToken"].at("id");
        if (!specials.contains(id)) c.fail("post-processor token '" + id + "' is not in special_tokens");
        for (const auto& x : specials[id].at("ids")) {
          const int32_t tid = x.get<int32_t>();
          if (tid < 0 || tid >= v.size()) c.fail("post-processor token id " + std::to_string(tid) + " is out of range");
          (seen_a ? suffix : prefix).push_back(tid);
        }
      }
    }
  } else if (type == "BertProcessing" || type == "RobertaProcessing") {
    prefix.push_back(j.at("cls").at(1).get<int32_t>());
    suffix.push_back(j.at("sep").at(1).get<int32_t>());
  } else {
    c.fail("unsupported post-processor '" + type + "'");
  }
}

// tokenizer_config.json names tokens as a string or as {"content": ...}.
std::string config_token(const json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) return str_or(*it, "content", "");
  return "";
}

}  // namespace

Tokenizer TokenizerBuilder::from_hf_json(std::string_view tokenizer_json, std::string_view config_json,
                                         const std::string& name) {
  const Ctx c{name};
  json j, cfg;
  try {
    j = json::parse(tokenizer_json);
    cfg = config_json.empty() ? json::object() : json::parse(config_json);
  } catch (const json::exception& e) {
    c.fail(std::string("not valid JSON: ") + e.what());
  }
  try {
    Tokenizer t;
    t.model_name_ = "bpe";
    t.pre_name_ = "tokenizer.json";
    const json& m = j.at("model");
    const std::string mtype = str_or(m, "type", "BPE");
    if (mtype != "BPE") c.fail("unsupported model type '" + mtype + "' (supported: BPE)");

    // Vocabulary: the model's, then the added tokens at their ids.
    std::map<int32_t, std::string> by_id;
    for (const auto& [text, id] : m.at("vocab").items()) {
      const auto i = id.get<int64_t>();
      if (i < 0 || i > 0x7FFFFFFF) c.fail("token '" + text + "' has id " + std::to_string(i) + " out of range");
      by_id[static_cast<int32_t>(i)] = text;
    }
    std::vector<AddedToken> added;
    for (const auto& a : j.value("added_tokens", json::array())) {
      AddedToken at;
      const auto id = a.at("id").get<int64_t>();
      if (id < 0 || id > 0x7FFFFFFF) c.fail("added token has id " + std::to_string(id) + " out of range");
      at.id = static_cast<int32_t>(id);
      at.content = a.at("content").get<std::string>();
      at.special = bool_or(a, "special", false);
      at.lstrip = bool_or(a, "lstrip", false);
      at.rstrip = bool_or(a, "rstrip", false);
      at.normalized = bool_or(a, "normalized", !at.special);
      at.single_word = bool_or(a, "single_word", false);
      by_id[at.id] = at.content;
      added.push_back(std::move(at));
    }
    if (by_id.empty()) c.fail("the vocabulary is empty");
    const int32_t n = by_id.rbegin()->first + 1;
    if (static_cast<size_t>(n) != by_id.size())
      c.fail("token ids are not contiguous: " + std::to_string(by_id.size()) + " tokens but ids reach " +
             std::to_string(n - 1));
    auto vocab = std::make_shared<Vocab>();
    vocab->tokens.reserve(static_cast<size_t>(n));
    for (auto& [id, text] : by_id) {
      if (!utf8::is_valid(text)) c.fail("token " + std::to_string(id) + " is not valid UTF-8");
      vocab->ids.emplace(text, id);
      vocab->tokens.push_back(std::move(text));
    }
    // Model-vocabulary entries win over added tokens of the same text.
    for (const auto& [text, id] : m.at("vocab").items()) vocab->ids[text] = id.get<int32_t>();
    vocab->types.assign(static_cast<size_t>(n), TokenType::Normal);
    const bool byte_fallback = bool_or(m, "byte_fallback", false);
    if (byte_fallback)
      for (int32_t i = 0; i < n; ++i)
        if (parse_byte_token(vocab->tokens[static_cast<size_t>(i)]) >= 0) vocab->types[static_cast<size_t>(i)] = TokenType::Byte;
    for (const auto& a : added)
      vocab->types[static_cast<size_t>(a.id)] = a.special ? TokenType::Control : TokenType::UserDefined;

    BpeModel::Options opt;
    opt.byte_fallback = byte_fallback;
    opt.fuse_unk = bool_or(m, "fuse_unk", false);
    opt.ignore_merges = bool_or(m, "ignore_merges", false);
    opt.continuing_subword_prefix = str_or(m, "continuing_subword_prefix", "");
    opt.end_of_word_suffix = str_or(m, "end_of_word_suffix", "");
    const std::string unk = str_or(m, "unk_token", "");
    if (!unk.empty()) {
      opt.unk_id = vocab->find(unk);
      if (opt.unk_id < 0) c.fail("unk_token '" + unk + "' is not in the vocabulary");
    }
    if (!m.contains("merges") || !m["merges"].is_array()) c.fail("the BPE model has no merges");
    std::vector<std::array<int32_t, 3>> merges;
    merges.reserve(m["merges"].size());
    size_t rank = 0;
    for (const auto& mg : m["merges"]) {
      std::string a, b;
      if (mg.is_string()) {
        const std::string s = mg.get<std::string>();
        const size_t sp = s.find(' ');
        if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
          c.fail("merge " + std::to_string(rank) + " '" + s + "' is not two tokens");
        a = s.substr(0, sp), b = s.substr(sp + 1);
      } else if (mg.is_array() && mg.size() == 2) {
        a = mg[0].get<std::string>(), b = mg[1].get<std::string>();
      } else {
        c.fail("merge " + std::to_string(rank) + " is malformed");
      }
      const int32_t ia = vocab->find(a), ib = vocab->find(b);
      if (ia < 0 || ib < 0) c.fail("merge " + std::to_string(rank) + " '" + a + " " + b + "': a token is not in the vocabulary");
      std::string ab = a;
      if (!opt.continuing_subword_prefix.empty() && b.compare(0, opt.continuing_subword_prefix.size(), opt.continuing_subword_prefix) == 0)
        ab += b.substr(opt.continuing_subword_prefix.size());
      else
        ab += b;
      const int32_t iab = vocab->find(ab);
      if (iab < 0) c.fail("merge " + std::to_string(rank) + " '" + a + " " + b + "': the merged token is not in the vocabulary");
      merges.push_back({ia, ib, iab});
      ++rank;
    }

    parse_normalizer(c, j.value("normalizer", json()), t.normalizer_);
    parse_pre_tokenizer(c, j.value("pre_tokenizer", json()), t.pre_tokenizer_);
    parse_decoder(c, j.value("decoder", json()), t.decoder_);
    parse_post_processor(c, j.value("post_processor", json()), *vocab, t.prefix_ids_, t.suffix_ids_);

    t.vocab_ = vocab;
    t.model_ = std::make_shared<BpeModel>(vocab, merges, opt);
    t.added_ = std::move(added);
    t.unk_ = opt.unk_id;
    auto named = [&](const char* key) {
      const std::string s = config_token(cfg, key);
      return s.empty() ? -1 : vocab->find(s);
    };
    t.bos_ = named("bos_token");
    t.eos_ = named("eos_token");
    t.pad_ = named("pad_token");
    if (t.bos_ < 0 && !t.prefix_ids_.empty()) t.bos_ = t.prefix_ids_.front();
    if (t.eos_ < 0 && !t.suffix_ids_.empty()) t.eos_ = t.suffix_ids_.back();
    for (const char* s : {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>"}) {
      const int32_t id = vocab->find(s);
      if (id >= 0) {
        t.eot_ = id;
        break;
      }
    }
    // What encode(add_special) does is what the post-processor says.
    t.add_bos_ = t.bos_ >= 0 && !t.prefix_ids_.empty() && t.prefix_ids_.front() == t.bos_;
    t.add_eos_ = t.eos_ >= 0 && !t.suffix_ids_.empty() && t.suffix_ids_.back() == t.eos_;
    t.finish();
    return t;
  } catch (const json::exception& e) {
    c.fail(std::string("malformed tokenizer.json: ") + e.what());
  }
}

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TokenizerError(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string data = ss.str();
  if (path.size() < 3 || path.compare(path.size() - 3, 3, ".gz") != 0) return data;
  // gzip stream (windowBits 15 + 16 selects the gzip wrapper).
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) throw TokenizerError(path + ": cannot start gzip decompression");
  zs.next_in = reinterpret_cast<Bytef*>(data.data());
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      throw TokenizerError(path + ": corrupt gzip data");
    }
    out.append(buf, sizeof buf - zs.avail_out);
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      throw TokenizerError(path + ": truncated gzip data");
    }
  }
  inflateEnd(&zs);
  return out;
}

bool exists(const std::string& p) { return std::ifstream(p).good(); }

}  // namespace

Tokenizer Tokenizer::from_hf_json(std::string_view tokenizer_json, std::string_view config_json,
                                  const std::string& name) {
  return TokenizerBuilder::from_hf_json(tokenizer_json, config_json, name);
}

Tokenizer Tokenizer::from_hf_files(const std::string& tokenizer_json_path, const std::string& config_path) {
  const std::string tj = read_file(tokenizer_json_path);
  const std::string cj = config_path.empty() ? std::string() : read_file(config_path);
  return TokenizerBuilder::from_hf_json(tj, cj, tokenizer_json_path);
}

Tokenizer Tokenizer::from_hf_dir(const std::string& dir) {
  std::string tj = dir + "/tokenizer.json";
  if (!exists(tj)) tj += ".gz";
  if (!exists(tj)) throw TokenizerError(dir + ": no tokenizer.json or tokenizer.json.gz");
  std::string cj = dir + "/tokenizer_config.json";
  if (!exists(cj)) cj += ".gz";
  return from_hf_files(tj, exists(cj) ? cj : "");
}

}  // namespace forge
