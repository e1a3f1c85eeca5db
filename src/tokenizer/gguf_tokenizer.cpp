// A Tokenizer from a GGUF's tokenizer.ggml.* metadata, reproducing what
// llama.cpp does with the same keys (llama-vocab.cpp): model "llama" is
// SentencePiece-style BPE by score, model "gpt2" is byte-level BPE by merge
// rank after the regex pre-tokenizer named by tokenizer.ggml.pre.
#include <algorithm>
#include <cctype>

#include "format/gguf_file.h"
#include "tokenizer/tokenizer_builder.h"
#include "tokenizer/utf8.h"

namespace forge {
namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

[[noreturn]] void fail(const GgufFile& f, const std::string& what) {
  throw TokenizerError(f.path() + ": " + what);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A special-token id key: absent, the "none" marker (-1 / 0xFFFFFFFF), or an id
// that must lie in the vocabulary.
int32_t special_id(const GgufFile& f, std::string_view key, int32_t fallback, int32_t n) {
  const auto v = f.get_optional<int64_t>(key);
  if (!v) return fallback;
  if (*v == -1 || *v == 0xFFFFFFFFLL) return -1;
  if (*v < 0 || *v >= n)
    fail(f, "metadata key '" + std::string(key) + "' = " + std::to_string(*v) + " is outside the vocabulary of " +
                std::to_string(n) + " tokens");
  return static_cast<int32_t>(*v);
}

}  // namespace

Tokenizer TokenizerBuilder::from_gguf(const GgufFile& f) {
  try {
    Tokenizer t;
    const auto model = f.get_optional<std::string>("tokenizer.ggml.model");
    if (!model) fail(f, "no tokenizer: metadata key 'tokenizer.ggml.model' is missing");
    if (*model != "llama" && *model != "gpt2")
      fail(f, "unsupported tokenizer model '" + *model + "' (supported: llama, gpt2)");
    const bool spm = *model == "llama";
    t.model_name_ = *model;
    t.pre_name_ = f.get_or<std::string>("tokenizer.ggml.pre", "default");

    GgufPreset preset;
    if (!spm && !gguf_pre_preset(t.pre_name_, preset)) fail(f, "unsupported pre-tokenizer '" + t.pre_name_ + "'");

    auto vocab = std::make_shared<Vocab>();
    const auto tokens = f.get_array_optional<std::string>("tokenizer.ggml.tokens");
    if (!tokens || tokens->empty()) fail(f, "metadata key 'tokenizer.ggml.tokens' is missing or empty");
    const auto n = static_cast<int32_t>(tokens->size());
    auto scores = f.get_array_optional<float>("tokenizer.ggml.scores");
    auto types = f.get_array_optional<int32_t>("tokenizer.ggml.token_type");
    if (scores && scores->size() != tokens->size())
      fail(f, "tokenizer.ggml.scores has " + std::to_string(scores->size()) + " entries for " + std::to_string(n) +
                  " tokens");
    if (types && types->size() != tokens->size())
      fail(f, "tokenizer.ggml.token_type has " + std::to_string(types->size()) + " entries for " +
                  std::to_string(n) + " tokens");
    if (spm && !scores) fail(f, "a 'llama' tokenizer needs tokenizer.ggml.scores");

    vocab->tokens.reserve(tokens->size());
    vocab->types.reserve(tokens->size());
    vocab->ids.reserve(tokens->size());
    for (int32_t i = 0; i < n; ++i) {
      std::string text = (*tokens)[static_cast<size_t>(i)];
      if (!utf8::is_valid(text)) fail(f, "token " + std::to_string(i) + " is not valid UTF-8");
      TokenType type = TokenType::Normal;
      if (types) {
        const int32_t v = (*types)[static_cast<size_t>(i)];
        if (v < 0 || v > 6) fail(f, "token " + std::to_string(i) + " has unknown type " + std::to_string(v));
        type = static_cast<TokenType>(v);
      }
      if (type == TokenType::Byte && parse_byte_token(text) < 0)
        fail(f, "token " + std::to_string(i) + " has type byte but its text '" + text + "' is not <0xHH>");
      if (text.empty()) text = "[EMPTY_" + std::to_string(i) + "]";  // as llama.cpp names it
      if (!vocab->ids.emplace(text, i).second)
        fail(f, "token " + std::to_string(i) + " '" + text + "' repeats token " + std::to_string(vocab->find(text)));
      vocab->tokens.push_back(std::move(text));
      vocab->types.push_back(type);
    }
    if (scores) vocab->scores = std::move(*scores);

    // Special ids; llama.cpp's defaults for SentencePiece vocabularies are 1, 2 and 0.
    t.bos_ = special_id(f, "tokenizer.ggml.bos_token_id", spm && n > 1 ? 1 : -1, n);
    t.eos_ = special_id(f, "tokenizer.ggml.eos_token_id", spm && n > 2 ? 2 : -1, n);
    t.unk_ = special_id(f, "tokenizer.ggml.unknown_token_id", spm ? 0 : -1, n);
    t.pad_ = special_id(f, "tokenizer.ggml.padding_token_id", -1, n);
    t.eot_ = special_id(f, "tokenizer.ggml.eot_token_id", -1, n);
    const int32_t eom = special_id(f, "tokenizer.ggml.eom_token_id", -1, n);
    special_id(f, "tokenizer.ggml.seperator_token_id", -1, n);
    if (t.eot_ < 0) {
      // As llama.cpp does: known end-of-turn texts stand in for a missing key.
      for (const char* s : {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>",
                            "<｜end▁of▁sentence｜>"}) {
        const int32_t id = vocab->find(s);
        if (id >= 0) {
          t.eot_ = id;
          break;
        }
      }
    }
    if (eom >= 0) t.eog_ids_.push_back(eom);

    t.add_bos_ = f.get_or<bool>("tokenizer.ggml.add_bos_token", spm || preset.add_bos);
    t.add_eos_ = f.get_or<bool>("tokenizer.ggml.add_eos_token", false);
    const bool add_space_prefix = f.get_or<bool>("tokenizer.ggml.add_space_prefix", spm);
    if (t.add_bos_ && t.bos_ < 0) fail(f, "add_bos_token is set but there is no BOS token");
    if (t.add_eos_ && t.eos_ < 0) fail(f, "add_eos_token is set but there is no EOS token");
    if (t.add_bos_) t.prefix_ids_.push_back(t.bos_);
    if (t.add_eos_) t.suffix_ids_.push_back(t.eos_);

    // Control, user-defined and unknown tokens are matched in the text first
    // (control ones only when parsing specials), longest first.
    const std::string name = lower(f.get_or<std::string>("general.name", ""));
    const bool phi3 = name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos;
    for (int32_t i = 0; i < n; ++i) {
      const TokenType ty = vocab->types[static_cast<size_t>(i)];
      if (ty != TokenType::Control && ty != TokenType::UserDefined && ty != TokenType::Unknown) continue;
      AddedToken a;
      a.content = vocab->tokens[static_cast<size_t>(i)];
      a.id = i;
      a.special = ty != TokenType::UserDefined;
      if (phi3) {
        // llama.cpp's rule for Phi-3: control tokens swallow whitespace on their right,
        // except <unk>, <s> and <|endoftext|>; so does </s>.
        a.rstrip = (a.special && a.content != "<unk>" && a.content != "<s>" && a.content != "<|endoftext|>") ||
                   a.content == "</s>";
      }
      t.added_.push_back(std::move(a));
    }

    if (spm) {
      if (add_space_prefix) t.normalizer_.add({NormalizerStep::Kind::Prepend, std::string(kSpace), "", nullptr});
      t.normalizer_.add({NormalizerStep::Kind::Replace, " ", std::string(kSpace), nullptr});
      t.vocab_ = vocab;
      t.model_ = std::make_shared<SpmModel>(vocab, t.unk_);
      t.decoder_.add({DecoderStep::Kind::Replace, std::string(kSpace), " ", nullptr});
      t.decoder_.add({DecoderStep::Kind::ByteFallback, "", "", nullptr});
      t.decoder_.add({DecoderStep::Kind::Fuse, "", "", nullptr});
      if (add_space_prefix) {
        DecoderStep strip{DecoderStep::Kind::Strip, " ", "", nullptr};
        strip.start = 1;
        t.decoder_.add(strip);
      }
    } else {
      const auto merges = f.get_array_optional<std::string>("tokenizer.ggml.merges");
      if (!merges) fail(f, "a 'gpt2' tokenizer needs tokenizer.ggml.merges");
      std::vector<std::array<int32_t, 3>> merge_ids;
      merge_ids.reserve(merges->size());
      for (size_t i = 0; i < merges->size(); ++i) {
        const std::string& m = (*merges)[i];
        const size_t sp = m.find(' ', 1);
        if (sp == std::string::npos) fail(f, "merge " + std::to_string(i) + " '" + m + "' is not two tokens");
        const std::string a = m.substr(0, sp), b = m.substr(sp + 1);
        const int32_t ia = vocab->find(a), ib = vocab->find(b), iab = vocab->find(a + b);
        // llama.cpp merges strings and never produces a pair whose parts are
        // not tokens; a merge into a non-token cannot be expressed here and is left out.
        if (ia < 0 || ib < 0 || iab < 0) continue;
        merge_ids.push_back({ia, ib, iab});
      }
      for (const std::string& re : preset.regexes) {
        PreTokenizerStep s(PreTokenizerStep::Kind::Split);
        s.regex = std::make_shared<Regex>(re);
        s.behavior = SplitBehavior::Isolated;
        t.pre_tokenizer_.add(std::move(s));
      }
      t.pre_tokenizer_.add(PreTokenizerStep(PreTokenizerStep::Kind::ByteLevel));
      BpeModel::Options opt;
      opt.ignore_merges = preset.ignore_merges;
      opt.unk_id = t.unk_;
      t.vocab_ = vocab;
      t.model_ = std::make_shared<BpeModel>(vocab, merge_ids, opt);
      t.decoder_.add({DecoderStep::Kind::ByteLevel, "", "", nullptr});
    }
    t.finish();
    return t;
  } catch (const FormatError& e) {
    throw TokenizerError(e.what());
  }
}

Tokenizer Tokenizer::from_gguf(const GgufFile& file) { return TokenizerBuilder::from_gguf(file); }

}  // namespace forge
