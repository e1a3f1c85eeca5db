// The pre-tokenizer of each tokenizer.ggml.pre value: the regular expressions
// llama.cpp applies in order (src/llama-vocab.cpp), each one splitting the
// pieces left by the previous ones into matches and the text between them.
// Where llama.cpp rewrote a Hugging Face pattern for its own regex engine,
// the original tokenizer.json pattern is used, since PCRE2 runs it as is.
#include <array>

#include "tokenizer/tokenizer_builder.h"

namespace forge {
namespace {

constexpr const char* kGpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
constexpr const char* kLlama3 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";
constexpr const char* kQwen2 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";
constexpr const char* kDeepseekLlmLetters =
    "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\\x{1F7D}ᾀ-ᾴᾶ-ᾼ\\x{1FBE}ῂ-"
    "ῄῆ-ῌῐ-\\x{1FD3}ῖ-\\x{1FDB}ῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\\x{2126}ℨ\\x{212A}-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-"
    "𐳲𑢠-𑣟𞤀-𞥃]+";

struct Entry {
  std::array<const char*, 8> names;
  GgufPreset preset;
};

const std::vector<Entry>& table() {
  static const std::vector<Entry> t = {
      {{"default"}, {{"[\\p{P}\\$\\+<=>\\^~\\|]+", kGpt2, "\\p{N}+", "[0-9][0-9][0-9]"}, false, false}},
      {{"llama3", "llama-v3", "llama-bpe", "falcon3"}, {{kLlama3}, true, true}},
      {{"dbrx", "smaug-bpe"}, {{kLlama3}, false, false}},
      {{"deepseek-llm"},
       {{"[\r\n]", kDeepseekLlmLetters, "\\s?[!-/:-~！-／：-～‘-‟　-。]+", "\\s+$", "[一-龥ࠀ-一가-퟿]+", "\\p{N}+"}, false, false}},
      {{"deepseek-coder"}, {{"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}"}, false, false}},
      {{"falcon"}, {{"[\\p{P}\\$\\+<=>\\^~\\|`]+", kGpt2, "[0-9][0-9][0-9]"}, false, false}},
      {{"gpt-2", "phi-2", "mpt", "olmo", "roberta-bpe", "jina-es", "jina-de"}, {{kGpt2}, false, false}},
      {{"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone"}, {{"\\p{N}", kGpt2}, false, false}},
      {{"qwen2", "qwen2.5", "deepseek-r1-qwen", "stablelm2", "megrez"}, {{kQwen2}, false, false}},
  };
  return t;
}

}  // namespace

bool gguf_pre_preset(std::string_view pre, GgufPreset& out) {
  for (const Entry& e : table())
    for (const char* n : e.names)
      if (n && pre == n) {
        out = e.preset;
        return true;
      }
  return false;
}

std::vector<std::string> supported_gguf_pre_tokenizers() {
  std::vector<std::string> out;
  for (const Entry& e : table())
    for (const char* n : e.names)
      if (n) out.emplace_back(n);
  return out;
}

}  // namespace forge
