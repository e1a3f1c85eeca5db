// A model file that cannot be run: inconsistent or missing metadata, tensors
// that disagree with it, an architecture or feature Forge does not support.
#pragma once

#include <stdexcept>

namespace forge::model {

class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace forge::model
