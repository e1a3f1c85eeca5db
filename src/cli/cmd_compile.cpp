// `forge compile`: a model into a C++ project specialized for it, built into
// one program (DESIGN.md, "What compile means here").
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "codegen/cpu/runtime/bundle.h"
#include "cli/model_options.h"
#include "codegen/cpu/cpu_codegen.h"
#include "codegen/cpu/weights_export.h"
#include "codegen/cuda/cuda_codegen.h"

namespace forge::cli {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace

void add_compile_command(CLI::App& app, int& exit_code) {
  struct Options {
    std::string model, tokenizer, out, target = "cpu", prompt;
    codegen::cpu::CpuOptions cpu;
    std::string cuda_arch = "90";
    bool emit_only = false, no_weights = false, run = false, embed_weights = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("compile", "Compile a model into a program specialized for it");
  cmd->footer(
      "Example:\n"
      "  forge compile -m ../shared/data/models/stories260K/stories260K.gguf -o out/ --run -p \"Once upon a time\"\n\n"
      "Writes out/model.cpp, model.h, main.cpp, CMakeLists.txt, weights.bin and tokenizer.gguf, then builds\n"
      "out/model (run it with ./out/model -p \"...\"; --help lists its flags).");
  cmd->add_option("-m,--model", o->model, "Model: a .gguf file")->required();
  cmd->add_option("-o,--output", o->out, "Folder for the generated project")->required();
  cmd->add_option("--target", o->target, "cpu or cuda (wasm, webgpu, metal: not implemented yet)")->capture_default_str();
  cmd->add_option("--cpu", o->cpu.cpu,
                  "native, x86-64-v3, x86-64-v4, aarch64 or aarch64+dotprod (cross-compiled, static; --run uses qemu-aarch64)")
      ->capture_default_str();
  cmd->add_option("--cuda-arch", o->cuda_arch, "--target cuda: GPU architecture (CMAKE_CUDA_ARCHITECTURES)")
      ->capture_default_str();
  cmd->add_option("--max-context", o->cpu.max_context, "KV cache positions of the program")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--max-batch", o->cpu.max_batch, "Tokens per prefill step (sizes the arena)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("-t,--threads", o->cpu.threads, "The program's default thread count (0: physical cores)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--opt", o->cpu.opt_level, "Optimization flag for the generated code")->capture_default_str();
  cmd->add_flag("--emit-only", o->emit_only, "Write the project and weights, do not build");
  cmd->add_flag("--no-weights", o->no_weights, "Do not write weights.bin (see forge export-weights)");
  cmd->add_flag("--embed-weights", o->embed_weights,
                "Put the weights and tokenizer inside the program: one file is the whole deployment");
  cmd->add_flag("--run", o->run, "Build, then run the program on --prompt");
  cmd->add_option("-p,--prompt", o->prompt, "Prompt for --run");
  cmd->callback([o, &exit_code] {
    if (o->target != "cpu" && o->target != "cuda") {
      throw std::invalid_argument("--target " + o->target + ": not implemented yet (cpu and cuda are)");
    }
    const bool cuda = o->target == "cuda";
    if (o->run && (o->emit_only || o->prompt.empty())) throw std::invalid_argument("--run needs --prompt and a build");
    if (o->embed_weights && (o->emit_only || o->no_weights)) {
      throw std::invalid_argument("--embed-weights needs a build and the weights (not --emit-only or --no-weights)");
    }
    const auto t0 = std::chrono::steady_clock::now();
    runtime::LoadOptions lo;
    lo.model_path = o->model;
    auto m = runtime::LoadedModel::load(lo);
    o->cpu.out_dir = o->out;
    o->cpu.source_name = std::filesystem::path(o->model).filename().string();
    if (cuda) {
      codegen::cuda::CudaOptions co;
      co.out_dir = o->out;
      co.source_name = o->cpu.source_name;
      co.cuda_arch = o->cuda_arch;
      co.max_context = o->cpu.max_context;
      co.max_batch = o->cpu.max_batch;
      codegen::cuda::emit_cuda_project(m->graph(), co);
    } else {
      codegen::cpu::emit_cpu_project(m->graph(), o->cpu);
    }
    codegen::cpu::export_tokenizer(m->file(), (std::filesystem::path(o->out) / "tokenizer.gguf").string());
    uint64_t weight_bytes = 0;
    if (!o->no_weights) {
      const auto packing = cuda ? codegen::cpu::WeightPacking::kCudaSplit : codegen::cpu::cpu_packing(o->cpu.cpu);
      weight_bytes =
          codegen::cpu::export_weights(m->graph(), (std::filesystem::path(o->out) / "weights.bin").string(), packing);
    }
    const double gen_s = seconds_since(t0);
    std::fprintf(stderr, "forge compile: %s -> %s (%zu ops, weights %.1f MB) generated in %.2f s\n", o->model.c_str(),
                 o->out.c_str(), m->graph().ops.size(), weight_bytes / 1e6, gen_s);
    if (!o->emit_only) {
      const auto t1 = std::chrono::steady_clock::now();
      if (cuda) {
        codegen::cuda::build_cuda_project(o->out);
      } else {
        codegen::cpu::build_cpu_project(o->out);
      }
      std::fprintf(stderr, "forge compile: built %s/model in %.2f s (total %.2f s)\n", o->out.c_str(),
                   seconds_since(t1), seconds_since(t0));
      if (o->embed_weights) {
        const std::filesystem::path dir(o->out);
        compiled::write_bundle((dir / "model").string(), (dir / "weights.bin").string(),
                               (dir / "tokenizer.gguf").string(), (dir / "model").string());
        std::fprintf(stderr, "forge compile: weights and tokenizer embedded in %s/model\n", o->out.c_str());
      }
    }
    exit_code = 0;
    if (o->run) {
      std::fflush(stderr);
      const std::string program = (std::filesystem::absolute(o->out) / "model").string();
      // An AArch64 program built here runs under qemu-user (Debian qemu-user).
      const std::string runner = o->cpu.cpu.rfind("aarch64", 0) == 0 ? "qemu-aarch64 " : "";
      const int rc = std::system((runner + shell_quote(program) + " -p " + shell_quote(o->prompt)).c_str());
      exit_code = rc == 0 ? 0 : 1;
    }
  });
}

}  // namespace forge::cli
