// The one error type of the format layer: a malformed or unreadable file.
// Messages are one line and say which file, what is wrong and where.
#pragma once

#include <stdexcept>
#include <string>

namespace forge {

class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace forge
