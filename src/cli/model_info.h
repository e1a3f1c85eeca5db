// What `forge info` reports about a GGUF file, gathered once as JSON; the text
// view is rendered from the same object so the two never disagree.
#pragma once

#include <nlohmann/json.hpp>

#include "format/gguf_file.h"

namespace forge::cli {

nlohmann::json gguf_summary(const GgufFile& file, bool with_tensors);
std::string render_summary_text(const nlohmann::json& summary);

}  // namespace forge::cli
