// `forge dump MODEL TENSOR [-o FILE]`: one tensor as Forge dequantizes it, as
// raw little-endian F32 (GGML order, row after row) or as a short summary.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>
#include <stdexcept>
#include <vector>

#include "cli/commands.h"
#include "format/gguf_file.h"
#include "quant/quant.h"

namespace forge::cli {

namespace {

struct DumpOptions {
  std::string model;
  std::string tensor;
  std::string output;
};

void run_dump(const DumpOptions& o) {
  const GgufFile f = GgufFile::open(o.model);
  const GgufTensorInfo* t = f.find_tensor(o.tensor);
  if (!t) {
    std::string near;
    for (const auto& x : f.tensors()) {
      if (x.name.find(o.tensor) != std::string::npos) near += (near.empty() ? "" : ", ") + x.name;
    }
    throw std::invalid_argument(o.model + ": no tensor named '" + o.tensor + "'" +
                                (near.empty() ? " (forge info --tensors lists them)" : " (did you mean: " + near + "?)"));
  }
  const std::string type_name(ggml_type_info(t->type).name);
  if (!quant::is_supported(t->type)) {
    throw std::invalid_argument(o.model + ": tensor '" + t->name + "' has type " + type_name +
                                ", which Forge cannot dequantize");
  }

  const int64_t n = t->dims[0];
  const int64_t rows = t->rows();
  const size_t row_bytes = quant::row_size(t->type, n);
  std::vector<float> row(static_cast<size_t>(n));
  std::ofstream out;
  if (!o.output.empty()) {
    out.open(o.output, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot open '" + o.output + "' for writing");
  }

  double sum = 0, sum_sq = 0;
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  std::vector<float> first;
  for (int64_t r = 0; r < rows; ++r) {
    quant::dequantize_row(t->type, t->data.data() + static_cast<size_t>(r) * row_bytes, row.data(), n);
    if (out.is_open()) {
      // GGUF data is little-endian, and so are the machines Forge runs on.
      out.write(reinterpret_cast<const char*>(row.data()), static_cast<std::streamsize>(row.size() * sizeof(float)));
      continue;
    }
    for (float v : row) {
      if (first.size() < 8) first.push_back(v);
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      sum += v;
      sum_sq += static_cast<double>(v) * v;
    }
  }
  if (out.is_open()) {
    out.close();
    if (!out) throw std::runtime_error("error writing '" + o.output + "'");
    std::fprintf(stderr, "%s: %s %s %s, %llu floats\n", o.output.c_str(), t->name.c_str(), type_name.c_str(),
                 t->shape_string().c_str(), static_cast<unsigned long long>(t->n_elements));
    return;
  }
  const double count = static_cast<double>(t->n_elements);
  std::printf("tensor    %s\ntype      %s\nshape     %s (%llu elements)\nfirst     ", t->name.c_str(),
              type_name.c_str(), t->shape_string().c_str(), static_cast<unsigned long long>(t->n_elements));
  for (size_t i = 0; i < first.size(); ++i) std::printf("%s%.6g", i ? " " : "", first[i]);
  std::printf("\nmin       %.6g\nmax       %.6g\nmean      %.6g\nrms       %.6g\n", lo, hi, sum / count,
              std::sqrt(sum_sq / count));
}

}  // namespace

void add_dump_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<DumpOptions>();
  CLI::App* cmd = app.add_subcommand("dump", "Dequantize one tensor to F32: a summary, or raw floats to a file");
  cmd->footer(
      "Examples:\n"
      "  forge dump model.gguf blk.0.attn_q.weight             type, shape, first values, min/max/mean/RMS\n"
      "  forge dump model.gguf output.weight -o output.f32     raw little-endian float32, row after row");
  cmd->add_option("model", o->model, "Path to a .gguf file")->required();
  cmd->add_option("tensor", o->tensor, "Tensor name (forge info --tensors lists them)")->required();
  cmd->add_option("-o,--output", o->output, "Write the values as raw little-endian float32 to this file");
  cmd->callback([o, &exit_code] {
    run_dump(*o);
    exit_code = 0;
  });
}

}  // namespace forge::cli
