// `forge quantize IN.gguf OUT.gguf --type T`: rewrite a model's weights in
// another GGML type, choosing per-tensor types as llama-quantize does for
// llama.cpp's mixes (quant_mix.h). Tensors stream through the writer one at a
// time; rows are converted in parallel.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "cli/commands.h"
#include "cli/progress_bar.h"
#include "cli/quant_mix.h"
#include "cli/row_converter.h"
#include "format/gguf_writer.h"
#include "interp/thread_pool.h"
#include "quant/quant.h"

namespace forge::cli {

namespace {

struct QuantizeOptions {
  std::string input;
  std::string output;
  std::string type;
  int threads = 0;
  bool allow_requantize = false;
  bool pure = false;
};

// The output must not overwrite the input: same path, or the same file
// reached another way (a link, "./a" vs "a").
void check_distinct_paths(const std::string& in, const std::string& out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool same = fs::weakly_canonical(in, ec) == fs::weakly_canonical(out, ec) ||
                    (fs::exists(out, ec) && fs::equivalent(in, out, ec));
  if (same) throw std::invalid_argument("the output '" + out + "' is the input file; write to another path");
}

std::string type_name(GgmlType t) { return std::string(ggml_type_info(t).name); }

void run_quantize(const QuantizeOptions& o) {
  const auto mix = find_quant_mix(o.type);
  if (!mix) throw std::invalid_argument("unknown type '" + o.type + "'; valid types: " + quant_mix_names());
  check_distinct_paths(o.input, o.output);
  const GgufFile in = GgufFile::open(o.input);

  if (!o.allow_requantize) {
    for (const auto& t : in.tensors()) {
      if (is_quantized_type(t.type)) {
        throw std::invalid_argument(o.input + ": tensor '" + t.name + "' is already quantized (" + type_name(t.type) +
                                    "); quantizing it again loses more precision. Start from an F32/F16/BF16 "
                                    "file, or pass --allow-requantize");
      }
    }
  }

  GgufWriter w;
  for (const auto& [key, value] : in.metadata()) w.set(key, value);
  // As llama-quantize: the ggml quantization format version and the mix.
  w.set_u32("general.quantization_version", 2);
  w.set_u32("general.file_type", mix->file_type);

  interp::ThreadPool pool(o.threads > 0 ? o.threads : interp::ThreadPool::default_threads());
  QuantPlanner planner = QuantPlanner::for_file(in, *mix, o.pure);
  const int n = static_cast<int>(in.tensors().size());
  uint64_t total_in = 0;
  for (const auto& t : in.tensors()) total_in += t.n_bytes;
  auto progress = std::make_shared<ProgressBar>(n, total_in);
  int n_fallback = 0;
  uint64_t total_out = 0;

  for (int i = 0; i < n; ++i) {
    const GgufTensorInfo& t = in.tensors()[i];
    const QuantPlanner::Choice c = planner.choose(t);
    if (!c.fallback.empty()) {
      progress->note("warning: " + t.name + ": " + c.fallback);
      ++n_fallback;
    }
    const GgmlType to = c.type;
    if (to != t.type) {
      if (!quant::is_supported(t.type)) {
        throw std::invalid_argument(o.input + ": tensor '" + t.name + "' has type " + type_name(t.type) +
                                    ", which Forge cannot convert");
      }
      if (!quant::is_supported(to)) {
        throw std::invalid_argument("tensor '" + t.name + "': Forge cannot write type " + type_name(to));
      }
    }
    const auto& info = ggml_type_info(to);
    uint64_t out_bytes = ggml_row_size(info, t.dims[0]) * static_cast<uint64_t>(t.rows());
    total_out += out_bytes;
    char detail[256];
    std::snprintf(detail, sizeof detail, "%-32s %6s -> %-6s %-16s %10s -> %s", t.name.c_str(),
                  type_name(t.type).c_str(), type_name(to).c_str(), t.shape_string().c_str(),
                  format_bytes(static_cast<double>(t.n_bytes)).c_str(),
                  format_bytes(static_cast<double>(out_bytes)).c_str());
    w.add_tensor(t.name, to, t.dims, [&t, to, i, &pool, progress, detail = std::string(detail)](std::span<uint8_t> out) {
      if (to == t.type) {
        std::memcpy(out.data(), t.data.data(), out.size());
      } else {
        const int64_t n_per_row = t.dims[0];
        const size_t in_row = quant::row_size(t.type, n_per_row);
        const uint8_t* src = t.data.data();
        const GgmlType from = t.type;
        convert_rows(pool, to, n_per_row, t.rows(), [=](int64_t r, float* dst) {
          quant::dequantize_row(from, src + static_cast<size_t>(r) * in_row, dst, n_per_row);
        }, out);
      }
      progress->item_done(i, t.n_bytes, detail);
    });
  }
  w.write(o.output);
  progress->finish();
  std::fprintf(stderr, "%s: %s -> %s (%s, %d tensors%s)\n", o.output.c_str(),
               format_bytes(static_cast<double>(total_in)).c_str(), format_bytes(static_cast<double>(total_out)).c_str(),
               std::string(mix->name).c_str(), n,
               n_fallback ? (", " + std::to_string(n_fallback) + " with a fallback type").c_str() : "");
}

}  // namespace

void add_quantize_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<QuantizeOptions>();
  CLI::App* cmd = app.add_subcommand("quantize", "Convert a GGUF model's weights to another type or llama.cpp mix");
  cmd->footer(
      "Types: " + quant_mix_names() +
      "\n\n"
      "Mixes give each tensor the type llama.cpp's llama-quantize gives it (output.weight Q6_K, more bits\n"
      "for some layers' attn_v / ffn_down); 1-D tensors (norms, biases, rope_freqs) stay as they are.\n"
      "K-quants need rows of a multiple of 256: other tensors fall back as llama.cpp does (Q2_K/Q3_K -> Q4_0,\n"
      "Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0), with a warning.\n\n"
      "Examples:\n"
      "  forge quantize model-f16.gguf model-q4_k_m.gguf --type Q4_K_M\n"
      "  forge quantize model-f32.gguf model-q8_0.gguf --type Q8_0 --threads 4\n"
      "  forge quantize model-f32.gguf model-q4_k.gguf --type Q4_K_S --pure");
  cmd->add_option("input", o->input, "Model to read (.gguf)")->required();
  cmd->add_option("output", o->output, "File to write (.gguf)")->required();
  cmd->add_option("--type", o->type, "Target type or mix")->required();
  cmd->add_option("-t,--threads", o->threads, "Threads (default: physical cores)")->check(CLI::Range(0, 1024));
  cmd->add_flag("--allow-requantize", o->allow_requantize,
                "Accept an input that is already quantized (dequantized, then quantized again)");
  cmd->add_flag("--pure", o->pure, "Every matrix in the mix's base type: no per-tensor rules (like llama-quantize)");
  cmd->callback([o, &exit_code] {
    run_quantize(*o);
    exit_code = 0;
  });
}

}  // namespace forge::cli
