// The weights of one Hugging Face checkpoint: a single model.safetensors, or
// shards listed by model.safetensors.index.json ("weight_map": tensor name ->
// shard file name). Every shard is opened (mapped) and checked against the
// index: each tensor must be in exactly the shard the index names, and every
// tensor of a shard must be in the index. Shard names must be plain file names
// in the index's folder (an untrusted index must not reach elsewhere).
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "format/safetensors_file.h"

namespace forge {

inline constexpr const char* kSafetensorsSingleName = "model.safetensors";
inline constexpr const char* kSafetensorsIndexName = "model.safetensors.index.json";

class SafetensorsSet {
 public:
  // `path` is a folder (holding model.safetensors.index.json, else
  // model.safetensors), an index file (*.index.json), or one .safetensors file.
  static SafetensorsSet open(const std::string& path);
  static SafetensorsSet open_index(const std::string& index_path);
  static SafetensorsSet from_file(SafetensorsFile file);

  // The files in shard order (the order of first appearance in the index).
  const std::vector<SafetensorsFile>& files() const { return files_; }
  // Every tensor, file by file, each file's in byte order.
  std::vector<const SafetensorsTensor*> tensors() const;
  size_t size() const { return index_.size(); }

  const SafetensorsTensor* find(std::string_view name) const;
  // Throws FormatError "<checkpoint>: tensor 'x' is missing".
  const SafetensorsTensor& tensor(std::string_view name) const;
  // The file that holds `name` (which must exist).
  const SafetensorsFile& file_of(std::string_view name) const;

  // The index file, or the single file: what error messages name.
  const std::string& path() const { return path_; }

 private:
  void add_file(SafetensorsFile file);

  std::string path_;
  std::vector<SafetensorsFile> files_;
  std::unordered_map<std::string, size_t> index_;  // tensor name -> position in files_
};

}  // namespace forge
