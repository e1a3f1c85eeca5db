// The one error type of the tokenizer layer: a malformed vocabulary or
// tokenizer file, or a request the tokenizer cannot serve. One-line messages.
#pragma once

#include <stdexcept>
#include <string>

namespace forge {

class TokenizerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace forge
