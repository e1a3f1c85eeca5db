// Test helpers: SafeTensors bytes built by hand, a scratch folder, error text.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "format/format_error.h"

namespace forge::testing {

inline std::string data_dir() {
  return FORGE_DATA_DIR;
}
inline std::string fixtures_dir() {
  return data_dir() + "/fixtures";
}

// A SafeTensors file from a header text and a byte buffer.
inline std::vector<uint8_t> st_bytes(const std::string& header, const std::vector<uint8_t>& buffer) {
  const uint64_t n = header.size();
  std::vector<uint8_t> b(8 + n + buffer.size());
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(n >> (8 * i));
  std::copy(header.begin(), header.end(), b.begin() + 8);
  std::copy(buffer.begin(), buffer.end(), b.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  return b;
}

inline std::vector<uint8_t> st_bytes(const std::string& header, size_t buffer_size) {
  std::vector<uint8_t> buffer(buffer_size);
  for (size_t i = 0; i < buffer_size; ++i) buffer[i] = static_cast<uint8_t>(i * 7 + 1);
  return st_bytes(header, buffer);
}

// A valid SafeTensors file of the given tensors, laid out back to back; the
// data bytes are a simple pattern.
struct StEntry {
  std::string name;
  std::string dtype;  // "F32", "F16", "I64"...
  std::vector<int64_t> shape;
  size_t element_size = 4;
};

inline std::vector<uint8_t> st_file(const std::vector<StEntry>& tensors) {
  std::string header = "{\"__metadata__\":{\"format\":\"pt\"}";
  size_t offset = 0;
  for (const auto& t : tensors) {
    size_t n = t.element_size;
    std::string shape;
    for (int64_t d : t.shape) {
      n *= static_cast<size_t>(d);
      if (!shape.empty()) shape += ',';
      shape += std::to_string(d);
    }
    header += ",\"" + t.name + "\":{\"dtype\":\"" + t.dtype + "\",\"shape\":[" + shape + "],\"data_offsets\":[" +
              std::to_string(offset) + "," + std::to_string(offset + n) + "]}";
    offset += n;
  }
  return st_bytes(header + "}", offset);
}

// Float32 values as little-endian bytes.
inline std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// A fresh folder under the system temp dir, removed at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() / ("forge_hf_" + std::string(info->test_suite_name()) + "_" +
                                                      info->name() + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string path() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::vector<uint8_t>& bytes) const {
    std::ofstream(file(name), std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return file(name);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(file(name), std::ios::binary) << text;
    return file(name);
  }

 private:
  std::filesystem::path path_;
};

// Runs `f`, expecting a FormatError; returns its text (or "" when none was thrown).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const FormatError& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "error must be one line: " << msg;
    return msg;
  }
  return "";
}

#define EXPECT_FORMAT_ERROR(stmt, fragment)                                       \
  do {                                                                            \
    std::string msg_ = ::forge::testing::error_of([&] { (void)(stmt); });         \
    EXPECT_NE(msg_.find(fragment), std::string::npos) << "got: '" << msg_ << "'"; \
  } while (0)

}  // namespace forge::testing
