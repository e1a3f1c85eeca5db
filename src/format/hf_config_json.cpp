#include "format/hf_config_json.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <system_error>
#include <vector>

#include "format/format_error.h"

namespace forge {

Json parse_json_strictly(std::string_view text, const std::string& name) {
  // One set of seen keys per open object; arrays open none. The callback sees
  // every key before its value, so a duplicate is caught where it appears.
  std::vector<std::set<std::string>> open_objects;
  auto check = [&](int depth, nlohmann::json::parse_event_t event, Json& parsed) {
    using E = nlohmann::json::parse_event_t;
    switch (event) {
      case E::object_start:
      case E::array_start:
        if (depth >= kMaxJsonDepth) {
          throw FormatError(name + ": JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
        }
        if (event == E::object_start) open_objects.emplace_back();
        break;
      case E::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case E::key: {
        const std::string& key = parsed.get_ref<const std::string&>();
        if (!open_objects.empty() && !open_objects.back().insert(key).second) {
          throw FormatError(name + ": JSON key '" + key + "' appears twice in one object");
        }
        break;
      }
      default:
        break;
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), check, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const nlohmann::json::exception& e) {
    // parse_error, and out_of_range for numbers that overflow ("1e999"): a
    // fuzz finding. Drop nlohmann's "[json.exception.parse_error.101] "
    // prefix: the user needs the position and the reason.
    std::string what = e.what();
    if (auto close = what.find("] "); what.rfind("[json.exception", 0) == 0 && close != std::string::npos) {
      what = what.substr(close + 2);
    }
    throw FormatError(name + ": invalid JSON: " + what);
  }
}

std::string json_type_name(const Json& v) {
  switch (v.type()) {
    case Json::value_t::string:
      return "string";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "integer";
    case Json::value_t::number_float:
      return "number";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::null:
      return "null";
    case Json::value_t::array:
      return "array";
    case Json::value_t::object:
      return "object";
    default:
      return "invalid";
  }
}

std::string read_text_file(const std::string& path, size_t max_bytes) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw FormatError(path + ": is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError(path + ": cannot open");
  in.seekg(0, std::ios::end);
  auto size = static_cast<std::streamoff>(in.tellg());
  if (size < 0) throw FormatError(path + ": cannot read");
  if (static_cast<uint64_t>(size) > max_bytes) {
    throw FormatError(path + ": is " + std::to_string(size) + " bytes, more than the " + std::to_string(max_bytes) +
                      " such a file may hold");
  }
  in.seekg(0);
  std::string text(static_cast<size_t>(size), '\0');
  if (!in.read(text.data(), size)) throw FormatError(path + ": cannot read");
  return text;
}

}  // namespace forge
