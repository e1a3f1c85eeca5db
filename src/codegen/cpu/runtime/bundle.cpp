#include "codegen/cpu/runtime/bundle.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <vector>

namespace forge::compiled {

namespace {

constexpr uint64_t kPage = 4096;

std::vector<char> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot read");
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

std::optional<BundleTrailer> read_bundle_trailer(std::span<const uint8_t> file) {
  BundleTrailer t;
  if (file.size() < sizeof t) return std::nullopt;
  std::memcpy(&t, file.data() + file.size() - sizeof t, sizeof t);
  if (std::memcmp(t.magic, kBundleMagic, sizeof t.magic) != 0) return std::nullopt;
  const uint64_t end = file.size() - sizeof t;
  if (t.weights_offset > end || t.weights_bytes > end - t.weights_offset || t.tokenizer_offset > end ||
      t.tokenizer_bytes > end - t.tokenizer_offset || t.weights_offset % kPage != 0) {
    return std::nullopt;
  }
  return t;
}

void write_bundle(const std::string& program, const std::string& weights, const std::string& tokenizer,
                  const std::string& out) {
  std::vector<char> exe = slurp(program), w = slurp(weights), tok = slurp(tokenizer);
  BundleTrailer t;
  std::memcpy(t.magic, kBundleMagic, sizeof t.magic);
  t.weights_offset = (exe.size() + kPage - 1) / kPage * kPage;
  t.weights_bytes = w.size();
  t.tokenizer_offset = t.weights_offset + w.size();
  t.tokenizer_bytes = tok.size();
  const std::string tmp = out + ".tmp";
  {
    std::ofstream o(tmp, std::ios::binary | std::ios::trunc);
    if (!o) throw std::runtime_error(tmp + ": cannot create");
    o.write(exe.data(), static_cast<std::streamsize>(exe.size()));
    std::vector<char> pad(t.weights_offset - exe.size(), 0);
    o.write(pad.data(), static_cast<std::streamsize>(pad.size()));
    o.write(w.data(), static_cast<std::streamsize>(w.size()));
    o.write(tok.data(), static_cast<std::streamsize>(tok.size()));
    o.write(reinterpret_cast<const char*>(&t), sizeof t);
    if (!o) throw std::runtime_error(tmp + ": write failed");
  }
  ::chmod(tmp.c_str(), 0755);
  if (std::rename(tmp.c_str(), out.c_str()) != 0) throw std::runtime_error(out + ": cannot replace");
}

}  // namespace forge::compiled
