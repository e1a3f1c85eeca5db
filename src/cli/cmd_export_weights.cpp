// `forge export-weights`: weights.bin for a compiled model (the tensors in the
// layout its kernels read, with the fingerprint of its graph).
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "codegen/cpu/cpu_codegen.h"
#include "codegen/cpu/weights_export.h"
#include "runtime/loaded_model.h"

namespace forge::cli {

void add_export_weights_command(CLI::App& app, int& exit_code) {
  struct Options {
    std::string model, out, target = "cpu", cpu = codegen::cpu::CpuOptions{}.cpu;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("export-weights", "Write weights.bin for a program built by forge compile");
  cmd->add_option("-m,--model", o->model, "Model: a .gguf file")->required();
  cmd->add_option("-o,--output", o->out, "The weights file to write (DIR/weights.bin)")->required();
  cmd->add_option("--target", o->target, "The program's target, as given to forge compile: cpu or cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("--cpu", o->cpu, "--target cpu: the program's --cpu (x86-64 programs read Q8_0/Q4_0/Q4_K/Q6_K matrices repacked)")
      ->capture_default_str();
  cmd->callback([o, &exit_code] {
    runtime::LoadOptions lo;
    lo.model_path = o->model;
    auto m = runtime::LoadedModel::load(lo);
    const auto packing =
        o->target == "cuda" ? codegen::cpu::WeightPacking::kCudaSplit : codegen::cpu::cpu_packing(o->cpu);
    const uint64_t bytes = codegen::cpu::export_weights(m->graph(), o->out, packing);
    std::fprintf(stderr, "forge export-weights: %s (%.1f MB)\n", o->out.c_str(), bytes / 1e6);
    exit_code = 0;
  });
}

}  // namespace forge::cli
