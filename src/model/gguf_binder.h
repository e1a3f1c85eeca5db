// Reads a GGUF's hyper-parameters and binds its tensors to WeightRefs with
// every shape and type checked, so architecture files state only what they
// need ("blk.N.attn_q.weight is [n_embd, n_head * head_dim]").
#pragma once

#include <map>
#include <optional>
#include <string>

#include "format/gguf_file.h"
#include "model/model_error.h"
#include "model/model_spec.h"

namespace forge::model {

// Metadata values that replace (or add to) the file's, by full key: what a
// user supplies with --override-kv. The file itself is never rewritten.
using MetadataOverrides = std::map<std::string, GgufValue, std::less<>>;

class GgufBinder {
 public:
  GgufBinder(const GgufFile& file, std::string arch, const MetadataOverrides* overrides = nullptr)
      : f_(file), arch_(std::move(arch)), overrides_(overrides) {}

  const GgufFile& file() const { return f_; }
  const std::string& arch() const { return arch_; }
  // A metadata value by full key: the override if one is given, else the file's.
  const GgufValue* find(const std::string& key) const;

  // `<arch>.<suffix>` keys: required (ModelError naming the key if missing)
  // or optional; a wrong type is an error either way.
  template <class T>
  T key(const std::string& suffix) const;
  template <class T>
  std::optional<T> opt(const std::string& suffix) const;
  // A positive integer hyper-parameter.
  int dim(const std::string& suffix) const;

  // A 2-D tensor of `rows` rows of `cols` elements, or a 1-D tensor of `cols`
  // (rows == 1). A missing required tensor, a wrong shape or a type Forge
  // cannot compute with is a ModelError; a missing optional one gives an
  // empty WeightRef.
  WeightRef matrix(const std::string& name, int64_t cols, int64_t rows, const char* why) const;
  WeightRef optional_matrix(const std::string& name, int64_t cols, int64_t rows, const char* why) const;
  WeightRef vector(const std::string& name, int64_t n, const char* why) const;
  WeightRef optional_vector(const std::string& name, int64_t n, const char* why) const;

  [[noreturn]] void fail(const std::string& what) const;

 private:
  WeightRef bind(const GgufTensorInfo& t, int64_t cols, int64_t rows, bool is_vector, const char* why) const;

  template <class T>
  std::optional<T> typed(const std::string& key) const;

  const GgufFile& f_;
  std::string arch_;
  const MetadataOverrides* overrides_;
};

}  // namespace forge::model
