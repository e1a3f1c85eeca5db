// Raw GGUF byte building for tests: lets a test write exactly the bytes it
// wants, including malformed ones, without going through GgufWriter.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace forge::testing {

struct Bytes {
  std::vector<uint8_t> b;

  template <class T>
  Bytes& put(T v) {
    uint8_t tmp[sizeof(T)];
    std::memcpy(tmp, &v, sizeof(T));
    for (uint8_t byte : tmp) b.push_back(byte);  // not insert(): GCC 12 warns falsely on it
    return *this;
  }
  Bytes& u32(uint32_t v) { return put(v); }
  Bytes& u64(uint64_t v) { return put(v); }
  Bytes& str(const std::string& s) {
    u64(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& raw(const std::string& s) {
    for (char c : s) b.push_back(static_cast<uint8_t>(c));  // not insert(): GCC 12 warns falsely on it
    return *this;
  }
  Bytes& pad_to(size_t align) {
    while (b.size() % align) b.push_back(0);
    return *this;
  }
  Bytes& zeros(size_t n) {
    b.insert(b.end(), n, 0);
    return *this;
  }
  size_t size() const { return b.size(); }
};

// Header: magic, version, n_tensors, n_kv.
Bytes gguf_header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3);

// A tensor info entry.
void put_tensor_info(Bytes& out, const std::string& name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset);

// A valid little file exercising every value type (nested arrays too) and two
// F32 tensors; used as the base for truncation tests and the fuzz seed.
std::vector<uint8_t> small_valid_gguf();

}  // namespace forge::testing
