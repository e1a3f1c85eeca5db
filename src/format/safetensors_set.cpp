#include "format/safetensors_set.h"

#include <filesystem>
#include <system_error>

#include "format/hf_config_json.h"

namespace forge {
namespace fs = std::filesystem;

namespace {

// An index lists tens of thousands of tensors at most; a few MB of JSON.
constexpr size_t kMaxIndexBytes = 64u << 20;

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

}  // namespace

SafetensorsSet SafetensorsSet::from_file(SafetensorsFile file) {
  SafetensorsSet set;
  set.path_ = file.path();
  set.add_file(std::move(file));
  return set;
}

void SafetensorsSet::add_file(SafetensorsFile file) {
  const size_t i = files_.size();
  files_.push_back(std::move(file));
  for (const auto& t : files_[i].tensors()) index_.emplace(t.name, i);
}

SafetensorsSet SafetensorsSet::open(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    fs::path dir(path);
    if (fs::exists(dir / kSafetensorsIndexName, ec)) return open_index((dir / kSafetensorsIndexName).string());
    if (fs::exists(dir / kSafetensorsSingleName, ec))
      return from_file(SafetensorsFile::open((dir / kSafetensorsSingleName).string()));
    throw FormatError(path + ": holds neither " + kSafetensorsIndexName + " nor " + kSafetensorsSingleName);
  }
  if (ends_with(path, ".index.json")) return open_index(path);
  return from_file(SafetensorsFile::open(path));
}

SafetensorsSet SafetensorsSet::open_index(const std::string& index_path) {
  const std::string& name = index_path;
  Json j = parse_json_strictly(read_text_file(index_path, kMaxIndexBytes), name);
  if (!j.is_object()) throw FormatError(name + ": is a JSON " + json_type_name(j) + ", expected an object");
  auto wm = j.find("weight_map");
  if (wm == j.end()) throw FormatError(name + ": key 'weight_map' is missing");
  if (!wm->is_object()) {
    throw FormatError(name + ": key 'weight_map' has type " + json_type_name(*wm) + ", expected object");
  }
  if (wm->empty()) throw FormatError(name + ": 'weight_map' lists no tensors");

  // Shard names in order of first appearance, and which shard each tensor is in.
  std::vector<std::string> shards;
  std::unordered_map<std::string, size_t> shard_of_name;
  std::unordered_map<std::string, size_t> expected;  // tensor -> shard number
  for (const auto& [tensor, shard] : wm->items()) {
    if (!shard.is_string()) {
      throw FormatError(name + ": 'weight_map' entry '" + tensor + "' has type " + json_type_name(shard) +
                        ", expected string");
    }
    const std::string& s = shard.get_ref<const std::string&>();
    if (s.empty() || s == "." || s == ".." || s.find('/') != std::string::npos || s.find('\\') != std::string::npos ||
        s.find('\0') != std::string::npos) {
      throw FormatError(name + ": 'weight_map' entry '" + tensor + "' names shard '" + s +
                        "', expected a file name in the index's folder");
    }
    auto [it, added] = shard_of_name.emplace(s, shards.size());
    if (added) shards.push_back(s);
    expected.emplace(tensor, it->second);
  }

  SafetensorsSet set;
  set.path_ = index_path;
  const fs::path dir = fs::path(index_path).parent_path();
  set.files_.reserve(shards.size());
  for (const auto& s : shards) {
    SafetensorsFile f = SafetensorsFile::open((dir / s).string());
    for (const auto& t : f.tensors()) {
      auto e = expected.find(t.name);
      if (e == expected.end()) {
        throw FormatError(name + ": tensor '" + t.name + "' is in shard '" + s + "' but not in 'weight_map'");
      }
      if (shards[e->second] != s) {
        throw FormatError(name + ": tensor '" + t.name + "' is in shard '" + s + "' but 'weight_map' puts it in '" +
                          shards[e->second] + "'");
      }
    }
    set.add_file(std::move(f));
  }
  for (const auto& [tensor, shard] : expected) {
    if (!set.index_.count(tensor)) {
      throw FormatError(name + ": tensor '" + tensor + "' is listed in 'weight_map' but missing from shard '" +
                        shards[shard] + "'");
    }
  }
  return set;
}

std::vector<const SafetensorsTensor*> SafetensorsSet::tensors() const {
  std::vector<const SafetensorsTensor*> out;
  out.reserve(index_.size());
  for (const auto& f : files_) {
    for (const auto& t : f.tensors()) out.push_back(&t);
  }
  return out;
}

const SafetensorsTensor* SafetensorsSet::find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : files_[it->second].find_tensor(name);
}

const SafetensorsTensor& SafetensorsSet::tensor(std::string_view name) const {
  const SafetensorsTensor* t = find(name);
  if (!t) throw FormatError(path_ + ": tensor '" + std::string(name) + "' is missing");
  return *t;
}

const SafetensorsFile& SafetensorsSet::file_of(std::string_view name) const {
  auto it = index_.find(std::string(name));
  if (it == index_.end()) throw FormatError(path_ + ": tensor '" + std::string(name) + "' is missing");
  return files_[it->second];
}

}  // namespace forge
