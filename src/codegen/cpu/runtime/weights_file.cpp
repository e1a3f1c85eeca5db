#include "codegen/cpu/runtime/weights_file.h"

#include <cstdio>
#include <cstring>

#include "format/format_error.h"
#include "codegen/cpu/runtime/bundle.h"
#include "format/mapped_file.h"

namespace forge::compiled {

namespace {

uint64_t fnv1a(uint64_t h, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;  // FNV-1a 64 prime
  return h;
}

std::string hex(uint64_t v) {
  char s[24];
  std::snprintf(s, sizeof s, "%016llx", static_cast<unsigned long long>(v));
  return s;
}

}  // namespace

uint64_t weights_checksum(const WeightsHeader& h, std::span<const TensorSlot> table) {
  uint64_t c = fnv1a(0xcbf29ce484222325ull, &h, offsetof(WeightsHeader, checksum));  // FNV-1a 64 offset basis
  return fnv1a(c, table.data(), table.size_bytes());
}

WeightsFile::WeightsFile(WeightsFile&&) noexcept = default;
WeightsFile::~WeightsFile() = default;

WeightsFile WeightsFile::open(const std::string& path, uint64_t fingerprint, std::span<const TensorSlot> expected) {
  WeightsFile f;
  try {
    f.map_ = std::make_unique<MappedFile>(path);
  } catch (const FormatError& e) {
    throw WeightsError(e.what());
  }
  std::span<const uint8_t> bytes = f.map_->bytes();
  // A bundled program (forge compile --embed-weights) carries its weights inside.
  if (auto t = read_bundle_trailer(bytes)) bytes = bytes.subspan(t->weights_offset, t->weights_bytes);
  auto fail = [&](const std::string& what) { throw WeightsError(path + ": " + what); };
  WeightsHeader h;
  if (bytes.size() < sizeof h) fail("not a Forge weights file (only " + std::to_string(bytes.size()) + " bytes)");
  std::memcpy(&h, bytes.data(), sizeof h);
  if (std::memcmp(h.magic, kWeightsMagic, sizeof h.magic) != 0) fail("not a Forge weights file (bad magic)");
  if (h.version != kWeightsVersion) {
    fail("weights file version " + std::to_string(h.version) + ", this program reads version " +
         std::to_string(kWeightsVersion));
  }
  if (h.n_tensors > (bytes.size() - sizeof h) / sizeof(TensorSlot)) fail("corrupted header (tensor count)");
  std::vector<TensorSlot> table(h.n_tensors);
  std::memcpy(table.data(), bytes.data() + sizeof h, table.size() * sizeof(TensorSlot));
  if (weights_checksum(h, table) != h.checksum) fail("corrupted header (checksum mismatch)");
  if (h.fingerprint != fingerprint) {
    fail("these weights are for another model or another target (fingerprint " + hex(h.fingerprint) +
         ", this program was compiled for " + hex(fingerprint) +
         "); export them with `forge export-weights` (with compile's --target and --cpu) from the model this program "
         "was compiled from");
  }
  if (h.file_bytes != bytes.size()) {
    fail("truncated or padded: " + std::to_string(bytes.size()) + " bytes, the header says " +
         std::to_string(h.file_bytes));
  }
  if (table.size() != expected.size()) fail("holds " + std::to_string(table.size()) + " tensors, expected " + std::to_string(expected.size()));
  for (size_t i = 0; i < table.size(); ++i) {
    if (table[i].offset != expected[i].offset || table[i].bytes != expected[i].bytes ||
        table[i].offset % kWeightsAlign != 0 || table[i].offset + table[i].bytes > bytes.size()) {
      fail("tensor " + std::to_string(i) + " is not where this program expects it");
    }
  }
  f.data_ = bytes.data();
  return f;
}

}  // namespace forge::compiled
