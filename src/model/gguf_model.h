// ModelSpec from a GGUF file: dispatch on `general.architecture` to the
// architecture family's description.
#pragma once

#include "format/gguf_file.h"
#include "model/gguf_binder.h"
#include "model/model_spec.h"

namespace forge::model {

// Throws ModelError (unsupported architecture, missing or inconsistent
// metadata, tensors that disagree with it) naming the file and the key or
// tensor. The spec's WeightRefs point into `file`, which must outlive it.
// `overrides` (--override-kv) take the place of the file's metadata values.
ModelSpec spec_from_gguf(const GgufFile& file, const MetadataOverrides* overrides = nullptr);

}  // namespace forge::model
