// libFuzzer target for the GGUF reader. Any input must either parse or raise
// FormatError; a parsed file must hold tensor views inside the input, and
// must survive a write/read round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "format/gguf_file.h"
#include "format/gguf_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  try {
    forge::GgufFile f = forge::GgufFile::parse(bytes, "fuzz.gguf");
    for (const auto& [key, value] : f.metadata()) (void)value.to_display(4);
    for (const auto& t : f.tensors()) {
      if (t.data.data() < data || t.data.data() + t.data.size() > data + size) std::abort();
    }
    auto again = forge::GgufWriter::copy_of(f).to_bytes();
    forge::GgufFile g = forge::GgufFile::parse(again, "fuzz-roundtrip.gguf");
    if (g.metadata().size() != f.metadata().size() || g.tensors().size() != f.tensors().size()) std::abort();
  } catch (const forge::FormatError&) {
  }
  return 0;
}
