// libFuzzer target for the SafeTensors reader. Any input must either parse or
// raise FormatError; a parsed file must hold tensor views inside the input
// that tile its byte buffer exactly, each the size its shape and dtype need.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "format/safetensors_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  try {
    forge::SafetensorsFile f = forge::SafetensorsFile::parse(bytes, "fuzz.safetensors");
    const uint8_t* buffer = data + f.data_offset();
    uint64_t covered = 0;
    for (const auto& t : f.tensors()) {
      if (t.data.data() < data || t.data.data() + t.data.size() > data + size) std::abort();
      if (t.data.data() != buffer + t.begin || t.begin != covered) std::abort();
      const uint64_t bits = static_cast<uint64_t>(forge::safetensors_dtype_bits(t.dtype));
      if (t.data.size() != t.n_elements * bits / 8) std::abort();
      if (f.find_tensor(t.name) == nullptr) std::abort();
      covered = t.end;
    }
    if (f.data_offset() + covered != size) std::abort();
  } catch (const forge::FormatError&) {
  }
  return 0;
}
