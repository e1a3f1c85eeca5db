// weights.bin: the tensors of one compiled model in the layout its generated
// kernels read, each 64-byte aligned, behind a header that names the graph
// they belong to. Written by `forge export-weights`, memory-mapped by the
// compiled program (no copy).
//
// Layout (little-endian):
//   WeightsHeader (64 bytes)
//   n_tensors x {uint64 offset, uint64 bytes}    -- where each tensor lies
//   tensor data, each at a 64-byte aligned offset
// The header's checksum (FNV-1a 64) covers its first 56 bytes and the table.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace forge {
class MappedFile;
}

namespace forge::compiled {

inline constexpr char kWeightsMagic[8] = {'F', 'O', 'R', 'G', 'E', 'W', 'T', 'S'};
inline constexpr uint32_t kWeightsVersion = 1;
inline constexpr uint64_t kWeightsAlign = 64;

struct WeightsHeader {
  char magic[8];
  uint32_t version;
  uint32_t n_tensors;
  uint64_t fingerprint;  // graph::passes::graph_fingerprint of the compiled graph
  uint64_t file_bytes;   // the whole file
  uint64_t data_offset;  // first tensor
  uint64_t reserved[2];
  uint64_t checksum;
};
static_assert(sizeof(WeightsHeader) == 64);

struct TensorSlot {
  uint64_t offset;
  uint64_t bytes;
};

class WeightsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// FNV-1a 64 of the header's first 56 bytes followed by the table.
uint64_t weights_checksum(const WeightsHeader& h, std::span<const TensorSlot> table);

// A mapped weights file, checked against what the program was built for.
class WeightsFile {
 public:
  // Throws WeightsError with the path and what is wrong: not a weights file,
  // another version, a corrupted header, weights of another model
  // (fingerprint), a truncated file, tensors other than expected.
  static WeightsFile open(const std::string& path, uint64_t fingerprint, std::span<const TensorSlot> expected);

  WeightsFile(WeightsFile&&) noexcept;
  ~WeightsFile();
  const uint8_t* data() const { return data_; }

 private:
  WeightsFile() = default;
  std::unique_ptr<MappedFile> map_;
  const uint8_t* data_ = nullptr;
};

}  // namespace forge::compiled
