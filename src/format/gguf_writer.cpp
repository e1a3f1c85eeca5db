#include "format/gguf_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <type_traits>

#include "format/format_error.h"

namespace forge {

void GgufWriter::set(const std::string& key, GgufValue value) {
  if (key.empty()) throw FormatError("gguf writer: empty metadata key");
  for (auto& [k, v] : kv_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  kv_.emplace_back(key, std::move(value));
}

void GgufWriter::remove(const std::string& key) {
  std::erase_if(kv_, [&](const auto& kv) { return kv.first == key; });
}

void GgufWriter::add(Tensor t) {
  const std::string q = "gguf writer: tensor '" + t.name + "'";
  if (t.name.empty() || t.name.size() > kGgufMaxNameLen) throw FormatError(q + ": name length out of range");
  for (const auto& o : tensors_) {
    if (o.name == t.name) throw FormatError(q + ": added twice");
  }
  if (t.dims.empty() || t.dims.size() > static_cast<size_t>(kGgufMaxDims)) throw FormatError(q + ": bad dimension count");
  const auto& info = ggml_type_info(t.type);
  uint64_t n = 1;
  for (int64_t d : t.dims) {
    if (d <= 0) throw FormatError(q + ": non-positive dimension");
    n *= static_cast<uint64_t>(d);
  }
  if (t.dims[0] % info.block_size != 0) throw FormatError(q + ": row length not a multiple of the block size");
  t.n_bytes = n / info.block_size * info.type_size;
  tensors_.push_back(std::move(t));
}

void GgufWriter::add_tensor(std::string name, GgmlType type, std::vector<int64_t> dims, std::span<const uint8_t> data) {
  Tensor t{std::move(name), type, std::move(dims), 0, data, {}, {}};
  add(std::move(t));
  if (tensors_.back().n_bytes != data.size()) {
    std::string n = tensors_.back().name;
    tensors_.pop_back();
    throw FormatError("gguf writer: tensor '" + n + "': data size does not match its type and shape");
  }
}

void GgufWriter::add_tensor(std::string name, GgmlType type, std::vector<int64_t> dims, std::vector<uint8_t> data) {
  size_t size = data.size();
  Tensor t{std::move(name), type, std::move(dims), 0, {}, std::move(data), {}};
  add(std::move(t));
  if (tensors_.back().n_bytes != size) {
    std::string n = tensors_.back().name;
    tensors_.pop_back();
    throw FormatError("gguf writer: tensor '" + n + "': data size does not match its type and shape");
  }
}

void GgufWriter::add_tensor(std::string name, GgmlType type, std::vector<int64_t> dims, Fill fill) {
  add(Tensor{std::move(name), type, std::move(dims), 0, {}, {}, std::move(fill)});
}

GgufWriter GgufWriter::copy_of(const GgufFile& file) {
  GgufWriter w;
  for (const auto& [k, v] : file.metadata()) w.set(k, v);
  for (const auto& t : file.tensors()) w.add_tensor(t.name, t.type, t.dims, t.data);
  return w;
}

uint64_t GgufWriter::alignment() const {
  for (const auto& [k, v] : kv_) {
    if (k == "general.alignment") {
      auto a = v.as<uint32_t>();
      if (!a || *a == 0 || (*a & (*a - 1)) != 0) {
        throw FormatError("gguf writer: general.alignment must be a power-of-two uint32");
      }
      return *a;
    }
  }
  return kGgufDefaultAlignment;
}

namespace {

template <class Sink>
void put_raw(Sink& sink, const void* p, size_t n) {
  sink.write(static_cast<const uint8_t*>(p), n);
}
template <class Sink, class T>
void put(Sink& sink, T v) {
  put_raw(sink, &v, sizeof v);
}
template <class Sink>
void put_string(Sink& sink, const std::string& s) {
  put<Sink, uint64_t>(sink, s.size());
  put_raw(sink, s.data(), s.size());
}
template <class Sink>
void put_value(Sink& sink, const GgufValue& value) {
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::string>) {
          put_string(sink, v);
        } else if constexpr (std::is_same_v<V, GgufArray>) {
          put<Sink, uint32_t>(sink, static_cast<uint32_t>(v.elem_type));
          put<Sink, uint64_t>(sink, v.items.size());
          for (const auto& item : v.items) {
            if (item.type() != v.elem_type) throw FormatError("gguf writer: array items of mixed types");
            put_value(sink, item);
          }
        } else if constexpr (std::is_same_v<V, bool>) {
          put<Sink, uint8_t>(sink, v ? 1 : 0);
        } else {
          put<Sink, V>(sink, v);
        }
      },
      value.storage());
}

struct CountingSink {
  uint64_t n = 0;
  void write(const uint8_t*, size_t k) { n += k; }
};

struct VectorSink {
  std::vector<uint8_t>& out;
  void write(const uint8_t* p, size_t k) { out.insert(out.end(), p, p + k); }
};

struct FileSink {
  std::FILE* f;
  const std::string& path;
  void write(const uint8_t* p, size_t k) {
    if (k && std::fwrite(p, 1, k, f) != k) {
      throw FormatError(path + ": write failed: " + std::strerror(errno));
    }
  }
};

}  // namespace

template <class Sink>
void GgufWriter::emit(Sink& sink) const {
  const uint64_t align = alignment();
  static const uint8_t zeros[256] = {};
  auto pad_to = [&](uint64_t pos) {
    uint64_t pad = (align - pos % align) % align;
    while (pad) {
      uint64_t k = std::min<uint64_t>(pad, sizeof zeros);
      sink.write(zeros, k);
      pad -= k;
    }
    return pos + (align - pos % align) % align;
  };

  put<Sink, uint32_t>(sink, kGgufMagic);
  put<Sink, uint32_t>(sink, 3);
  put<Sink, uint64_t>(sink, tensors_.size());
  put<Sink, uint64_t>(sink, kv_.size());
  uint64_t pos = 4 + 4 + 8 + 8;
  auto tracked = [&](auto&& fn) {
    CountingSink c;
    fn(c);
    fn(sink);
    pos += c.n;
  };
  for (const auto& kv : kv_) {
    tracked([&](auto& s) {
      put_string(s, kv.first);
      put<std::decay_t<decltype(s)>, uint32_t>(s, static_cast<uint32_t>(kv.second.type()));
      put_value(s, kv.second);
    });
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    tracked([&](auto& s) {
      using S = std::decay_t<decltype(s)>;
      put_string(s, t.name);
      put<S, uint32_t>(s, static_cast<uint32_t>(t.dims.size()));
      for (int64_t d : t.dims) put<S, uint64_t>(s, static_cast<uint64_t>(d));
      put<S, uint32_t>(s, static_cast<uint32_t>(t.type));
      put<S, uint64_t>(s, offset);
    });
    offset += t.n_bytes + (align - t.n_bytes % align) % align;
  }
  pos = pad_to(pos);
  std::vector<uint8_t> scratch;
  for (const auto& t : tensors_) {
    if (t.fill) {
      scratch.assign(t.n_bytes, 0);
      t.fill(scratch);
      sink.write(scratch.data(), scratch.size());
    } else if (!t.owned.empty()) {
      sink.write(t.owned.data(), t.owned.size());
    } else {
      sink.write(t.borrowed.data(), t.borrowed.size());
    }
    pos = pad_to(pos + t.n_bytes);
  }
}

std::vector<uint8_t> GgufWriter::to_bytes() const {
  std::vector<uint8_t> out;
  VectorSink sink{out};
  emit(sink);
  return out;
}

void GgufWriter::write(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw FormatError(path + ": cannot create: " + std::strerror(errno));
  try {
    FileSink sink{f, path};
    emit(sink);
  } catch (...) {
    std::fclose(f);
    std::remove(tmp.c_str());
    throw;
  }
  if (std::fclose(f) != 0) {
    std::remove(tmp.c_str());
    throw FormatError(path + ": write failed: " + std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    std::remove(tmp.c_str());
    throw FormatError(path + ": cannot rename temporary file into place: " + std::strerror(e));
  }
}

}  // namespace forge
