// Whether a compiled model fits the GPU's free memory, and the error that
// says what does not fit (plain C++: tested without a GPU).
#pragma once

#include <cstdint>
#include <string>

namespace forge::cuda_rt {

struct MemoryNeeds {
  uint64_t weights = 0;   // weights.bin tensors, uploaded once
  uint64_t kv_cache = 0;  // F16 keys and values for every layer and position
  uint64_t work = 0;      // activation arena, quantized inputs, logits
  int max_context = 0;
  uint64_t total() const { return weights + kv_cache + work; }
};

inline std::string mib(uint64_t b) { return std::to_string((b + (1u << 20) - 1) >> 20) + " MiB"; }

// Empty when `needs` fits in `free_bytes` (keeping a 256 MiB margin for the
// CUDA context and graphs); otherwise the one-line error.
inline std::string memory_fit_error(const MemoryNeeds& n, uint64_t free_bytes, uint64_t total_bytes) {
  constexpr uint64_t kMargin = 256ull << 20;
  if (n.total() + kMargin <= free_bytes) return {};
  std::string why = "not enough GPU memory: this model needs " + mib(n.total()) + " (weights " + mib(n.weights) +
                    ", KV cache for " + std::to_string(n.max_context) + " positions " + mib(n.kv_cache) +
                    ", activations " + mib(n.work) + ") and the GPU has " + mib(free_bytes) + " free of " +
                    mib(total_bytes);
  if (n.weights + n.work + kMargin <= free_bytes) {
    why += "; compile with a smaller --max-context";
  } else {
    why += "; the weights alone do not fit (use a smaller quantization or a larger GPU)";
  }
  return why;
}

}  // namespace forge::cuda_rt
