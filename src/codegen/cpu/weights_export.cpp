#include "codegen/cpu/weights_export.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "format/gguf_writer.h"
#include "graph/passes/fingerprint.h"
#include "kernels/cpu/repack.h"
#include "kernels/cuda/split_layout.h"

namespace forge::codegen::cpu {

namespace {

uint64_t tensor_bytes(const model::WeightRef& w) { return static_cast<uint64_t>(w.rows) * w.row_bytes; }
uint64_t align_up(uint64_t n) { return (n + compiled::kWeightsAlign - 1) / compiled::kWeightsAlign * compiled::kWeightsAlign; }

}  // namespace

WeightPacking cpu_packing(const std::string& cpu) {
  return cpu.rfind("aarch64", 0) == 0 ? WeightPacking::kPlain : WeightPacking::kRows8;
}

uint64_t weights_fingerprint(const graph::Graph& g, WeightPacking packing) {
  const uint64_t fp = graph::passes::graph_fingerprint(g);
  switch (packing) {
    case WeightPacking::kPlain: return fp;
    case WeightPacking::kRows8: return fp ^ 0x726f777338000000ULL;  // "rows8"
    case WeightPacking::kCudaSplit: return fp ^ 0x73706c6974000000ULL;  // "split"
  }
  return fp;
}

namespace {

bool packs(WeightPacking packing, const model::WeightRef& w) {
  switch (packing) {
    case WeightPacking::kPlain: return false;
    case WeightPacking::kRows8: return kernels::cpu::rows8_supported(w.type, w.rows, w.cols);
    case WeightPacking::kCudaSplit: return kernels::cuda::split_type(w.type) && w.cols % 32 == 0;
  }
  return false;
}

// Bytes a row takes as stored (split rows are padded to 16 bytes; rows8 keeps the size).
uint64_t stored_row_bytes(WeightPacking packing, const model::WeightRef& w, bool packed) {
  return packed && packing == WeightPacking::kCudaSplit ? kernels::cuda::split_row_stride(w.type, w.cols) : w.row_bytes;
}

}  // namespace

size_t WeightLayout::index(const model::WeightRef& w) const {
  auto it = by_data_.find({w.data, tensor_bytes(w)});
  if (it == by_data_.end()) throw CodegenError("weight '" + w.name + "' is not in the weights layout");
  return it->second;
}

WeightLayout weight_layout(const graph::Graph& g, WeightPacking packing) {
  WeightLayout l;
  // A matrix that some projection reads takes the packing's layout where it
  // can (a tied embedding table too: the embedding lookup reads it that way).
  // CUDA kernels read every Q8_0/Q4_0 tensor split, embedding tables too.
  auto add = [&](const model::WeightRef* w, bool matrix = false) {
    if (!w || !w->present()) return;
    const auto key = std::make_pair(w->data, tensor_bytes(*w));
    const bool packed = (matrix || packing == WeightPacking::kCudaSplit) && packs(packing, *w);
    if (auto it = l.by_data_.find(key); it != l.by_data_.end()) {
      if (packed) l.packed[it->second] = true;
      return;
    }
    l.by_data_[key] = l.tensors.size();
    l.tensors.push_back(w);
    l.packed.push_back(packed);
  };
  for (const graph::Op& op : g.ops) {
    std::visit(
        [&](const auto& p) {
          using P = std::decay_t<decltype(p)>;
          if constexpr (std::is_same_v<P, graph::EmbedOp>) {
            add(p.table);
          } else if constexpr (std::is_same_v<P, graph::NormOp>) {
            add(p.weight);
            add(p.bias);
          } else if constexpr (std::is_same_v<P, graph::MatMulOp>) {
            for (auto* w : p.weights) add(w, true);  // fused weights end up side by side
            for (auto* b : p.biases) add(b);
          }
        },
        op.params);
  }
  uint64_t at = align_up(sizeof(compiled::WeightsHeader) + l.tensors.size() * sizeof(compiled::TensorSlot));
  l.data_offset = at;
  for (size_t i = 0; i < l.tensors.size(); ++i) {
    const model::WeightRef& w = *l.tensors[i];
    l.row_stride.push_back(stored_row_bytes(packing, w, l.packed[i]));
    const uint64_t bytes = static_cast<uint64_t>(w.rows) * l.row_stride.back();
    l.slots.push_back({at, bytes});
    at = align_up(at + bytes);
  }
  l.file_bytes = at;
  return l;
}

uint64_t export_weights(const graph::Graph& g, const std::string& path, WeightPacking packing) {
  const WeightLayout l = weight_layout(g, packing);
  compiled::WeightsHeader h{};
  std::memcpy(h.magic, compiled::kWeightsMagic, sizeof h.magic);
  h.version = compiled::kWeightsVersion;
  h.n_tensors = static_cast<uint32_t>(l.tensors.size());
  h.fingerprint = weights_fingerprint(g, packing);
  h.file_bytes = l.file_bytes;
  h.data_offset = l.data_offset;
  h.checksum = compiled::weights_checksum(h, l.slots);

  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw CodegenError(path + ": cannot write");
    out.write(reinterpret_cast<const char*>(&h), sizeof h);
    out.write(reinterpret_cast<const char*>(l.slots.data()), l.slots.size() * sizeof(compiled::TensorSlot));
    uint64_t pos = sizeof h + l.slots.size() * sizeof(compiled::TensorSlot);
    static const char kZeros[compiled::kWeightsAlign] = {};
    for (size_t i = 0; i < l.tensors.size(); ++i) {
      out.write(kZeros, static_cast<std::streamsize>(l.slots[i].offset - pos));
      const model::WeightRef& w = *l.tensors[i];
      if (l.packed[i] && packing == WeightPacking::kCudaSplit) {
        std::vector<uint8_t> row(l.row_stride[i]);
        for (int64_t r = 0; r < w.rows; ++r) {
          kernels::cuda::split_row(w.type, w.cols, w.data + r * w.row_bytes, row.data());
          out.write(reinterpret_cast<const char*>(row.data()), static_cast<std::streamsize>(row.size()));
        }
      } else if (l.packed[i]) {
        std::vector<uint8_t> group(kernels::cpu::kRows8 * w.row_bytes);
        for (int64_t r = 0; r < w.rows; r += kernels::cpu::kRows8) {
          kernels::cpu::repack_rows8_group(w.type, w.cols, w.data + r * w.row_bytes, w.row_bytes, group.data());
          out.write(reinterpret_cast<const char*>(group.data()), static_cast<std::streamsize>(group.size()));
        }
      } else {
        out.write(reinterpret_cast<const char*>(w.data), static_cast<std::streamsize>(l.slots[i].bytes));
      }
      pos = l.slots[i].offset + l.slots[i].bytes;
    }
    out.write(kZeros, static_cast<std::streamsize>(l.file_bytes - pos));
    if (!out.flush()) throw CodegenError(path + ": write failed");
  }
  std::filesystem::rename(tmp, path);
  return l.file_bytes;
}

void export_tokenizer(const GgufFile& model, const std::string& path) {
  GgufWriter w;
  for (const auto& [key, value] : model.metadata()) {
    if (key.rfind("tokenizer.", 0) == 0 || key == "general.architecture" || key == "general.name") w.set(key, value);
  }
  w.write(path);
}

}  // namespace forge::codegen::cpu
