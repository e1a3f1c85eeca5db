#include "gguf_builder.h"

namespace forge::testing {

Bytes gguf_header(uint64_t n_tensors, uint64_t n_kv, uint32_t version) {
  Bytes h;
  h.raw("GGUF").u32(version).u64(n_tensors).u64(n_kv);
  return h;
}

void put_tensor_info(Bytes& out, const std::string& name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset) {
  out.str(name).u32(static_cast<uint32_t>(dims.size()));
  for (uint64_t d : dims) out.u64(d);
  out.u32(type).u64(offset);
}

std::vector<uint8_t> small_valid_gguf() {
  Bytes f = gguf_header(2, 15);
  f.str("general.architecture").u32(8).str("llama");
  f.str("t.u8").u32(0).put<uint8_t>(200);
  f.str("t.i8").u32(1).put<int8_t>(-5);
  f.str("t.u16").u32(2).put<uint16_t>(65000);
  f.str("t.i16").u32(3).put<int16_t>(-30000);
  f.str("t.u32").u32(4).u32(4000000000u);
  f.str("t.i32").u32(5).put<int32_t>(-2000000000);
  f.str("t.f32").u32(6).put<float>(1.5f);
  f.str("t.bool").u32(7).put<uint8_t>(1);
  f.str("t.u64").u32(10).u64(1ull << 40);
  f.str("t.i64").u32(11).put<int64_t>(-(1ll << 40));
  f.str("t.f64").u32(12).put<double>(0.25);
  f.str("t.strings").u32(9).u32(8).u64(3).str("a").str("").str("ccc");
  // Array of two arrays of int32: [[1, 2], [3]].
  f.str("t.nested").u32(9).u32(9).u64(2);
  f.u32(5).u64(2).put<int32_t>(1).put<int32_t>(2);
  f.u32(5).u64(1).put<int32_t>(3);
  f.str("general.alignment").u32(4).u32(32);
  put_tensor_info(f, "a", {4, 2}, 0, 0);
  put_tensor_info(f, "b", {3}, 0, 32);
  f.pad_to(32);
  for (int i = 0; i < 8; ++i) f.put<float>(static_cast<float>(i));
  for (int i = 0; i < 3; ++i) f.put<float>(10.0f + static_cast<float>(i));
  f.pad_to(32);  // ggml pads after the last tensor too
  return f.b;
}

}  // namespace forge::testing
