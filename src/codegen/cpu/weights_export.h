// Where each weight of an optimized graph lies in weights.bin, and writing
// the file (`forge export-weights`, and `forge compile` unless told not to).
// The layout is a pure function of the graph, so the generated code and the
// exporter agree on it by construction; the graph fingerprint in the header
// ties one to the other at run time.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "codegen/cpu/runtime/weights_file.h"
#include "format/gguf_file.h"
#include "graph/graph.h"

namespace forge::codegen::cpu {

class CodegenError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// How matrices lie in weights.bin: as the GGUF's blocks (AArch64 programs),
// Q8_0/Q4_0/Q4_K/Q6_K matrices in the rows8 layout of kernels/cpu/repack.h
// (x86-64 programs), or Q8_0/Q4_0 matrices in the split rows of
// kernels/cuda/split_layout.h (the CUDA target). Other types stay plain.
enum class WeightPacking { kPlain, kRows8, kCudaSplit };

// The packing a CPU program built for `cpu` (CpuOptions::cpu) reads.
WeightPacking cpu_packing(const std::string& cpu);

// The fingerprint weights.bin carries: the graph's, told apart by packing.
uint64_t weights_fingerprint(const graph::Graph& g, WeightPacking packing);

struct WeightLayout {
  std::vector<const model::WeightRef*> tensors;  // in file order: the order the graph first reads them
  std::vector<bool> packed;                      // per tensor: stored in the packing's layout (else plain)
  std::vector<uint64_t> row_stride;              // per tensor: bytes from one row to the next as stored
  std::vector<compiled::TensorSlot> slots;
  uint64_t data_offset = 0;
  uint64_t file_bytes = 0;

  // Index of the tensor holding w's bytes (a tied output head shares the
  // embedding's slot).
  size_t index(const model::WeightRef& w) const;

 private:
  friend WeightLayout weight_layout(const graph::Graph& g, WeightPacking packing);
  std::map<std::pair<const uint8_t*, uint64_t>, size_t> by_data_;
};

WeightLayout weight_layout(const graph::Graph& g, WeightPacking packing = WeightPacking::kPlain);

// Writes weights.bin for `g` (through a temporary file renamed into place).
// Returns the bytes written.
uint64_t export_weights(const graph::Graph& g, const std::string& path, WeightPacking packing = WeightPacking::kPlain);

// Writes the model's vocabulary (general.* and tokenizer.* metadata, no
// tensors) as a small GGUF the compiled program loads its tokenizer from.
void export_tokenizer(const GgufFile& model, const std::string& path);

}  // namespace forge::codegen::cpu
