// `forge`: the command-line entry point. Each subcommand lives in its own
// cmd_<name>.cpp; this file only wires them up and turns errors into a
// one-line message and a non-zero exit code.
#include <cstdio>
#include <exception>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{
      "Forge compiles small and mid-size language models (GGUF, or Hugging Face folders) ahead of time into\n"
      "programs specialized for one model, and runs them in an interpreter for quick use.\n\n"
      "Examples:\n"
      "  forge info model.gguf               what a model file holds\n"
      "  forge info model.gguf --tensors     every tensor with its type, shape and offset\n"
      "  forge run -m model.gguf -p \"Once upon a time\"   generate text\n"
      "  forge logits -m model.gguf --tokens 1,2,3      the logits at each position\n"
      "  forge speculative -m big.gguf --draft small.gguf -p \"Once\"   the same text, a draft guessing ahead\n"
      "  forge chat -m model.gguf                        talk to it\n"
      "  forge perplexity -m model.gguf -f text.txt      how well it predicts a text\n"
      "  forge serve -m model.gguf --port 8080           OpenAI-compatible server and chat page\n"
      "  forge compile -m model.gguf --target cpu -o out/    a program made for this one model\n\n"
      "Every command has --help. --model takes a .gguf file or a Hugging Face folder.\n",
      "forge"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "forge 0.1.0");
  int exit_code = 0;
  forge::cli::add_info_command(app, exit_code);
  forge::cli::add_run_command(app, exit_code);
  forge::cli::add_speculative_command(app, exit_code);
  forge::cli::add_logits_command(app, exit_code);
  forge::cli::add_bench_command(app, exit_code);
  forge::cli::add_perplexity_command(app, exit_code);
  forge::cli::add_chat_command(app, exit_code);
  forge::cli::add_tokenize_commands(app, exit_code);
  forge::cli::add_serve_command(app, exit_code);
  forge::cli::add_quantize_command(app, exit_code);
  forge::cli::add_dump_command(app, exit_code);
  forge::cli::add_synth_command(app, exit_code);
  forge::cli::add_compile_command(app, exit_code);
  forge::cli::add_export_weights_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "forge: error: %s\n", e.what());
    return 1;
  }
  return exit_code;
}
