// ModelSpec from a GGUF file: dispatch on `general.architecture` to the
// architecture family's description.
#pragma once

#include "format/gguf_file.h"
#include "model/model_spec.h"

namespace forge::model {

// Throws ModelError (unsupported architecture, missing or inconsistent
// metadata, tensors that disagree with it) naming the file and the key or
// tensor. The spec's WeightRefs point into `file`, which must outlive it.
ModelSpec spec_from_gguf(const GgufFile& file);

}  // namespace forge::model
