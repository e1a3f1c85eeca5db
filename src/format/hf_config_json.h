// Strict JSON parsing for the Hugging Face files (SafeTensors headers,
// shard indexes, config.json, adapter_config.json): all untrusted text.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace forge {

// Objects keep their keys in file order, so errors and listings follow the file.
using Json = nlohmann::ordered_json;

// Nesting deeper than this is refused: no Hugging Face file comes close, and it
// bounds the work a hostile file can make us do.
inline constexpr int kMaxJsonDepth = 64;

// Parses `text` as one JSON document. Throws FormatError "<name>: <what>" for
// invalid JSON (with the byte offset), for a key that appears twice in one
// object (nlohmann would silently keep the last one, so two writers could
// disagree on what the file says), and for nesting deeper than kMaxJsonDepth.
Json parse_json_strictly(std::string_view text, const std::string& name);

// "string", "integer", "number", "boolean", "null", "array", "object".
std::string json_type_name(const Json& v);

// Reads a whole (small) text file: config.json, an index. Throws FormatError
// naming the file when it cannot be read or exceeds `max_bytes`.
std::string read_text_file(const std::string& path, size_t max_bytes);

}  // namespace forge
