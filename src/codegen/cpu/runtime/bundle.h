// A compiled program with its weights and tokenizer inside (`forge compile
// --embed-weights`): the executable, padded to a page, then weights.bin, then
// tokenizer.gguf, then a trailer saying where each lies. The program maps its
// own file (/proc/self/exe), so one file is the whole deployment.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace forge::compiled {

inline constexpr char kBundleMagic[8] = {'F', 'O', 'R', 'G', 'E', 'B', 'D', 'L'};

struct BundleTrailer {
  char magic[8];
  uint64_t weights_offset;  // page-aligned, so tensors keep their 64-byte alignment
  uint64_t weights_bytes;
  uint64_t tokenizer_offset;
  uint64_t tokenizer_bytes;
};
static_assert(sizeof(BundleTrailer) == 40);

// The trailer of a bundled file, if `file` is one and its sections lie inside it.
std::optional<BundleTrailer> read_bundle_trailer(std::span<const uint8_t> file);

// Writes `out` = program + weights + tokenizer + trailer (through a temporary
// file, executable). Throws std::runtime_error naming the file on I/O errors.
void write_bundle(const std::string& program, const std::string& weights, const std::string& tokenizer,
                  const std::string& out);

}  // namespace forge::compiled
