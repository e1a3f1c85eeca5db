// Every `forge` subcommand registers itself on the app through one of these.
// A command's callback stores its exit code in `exit_code`; errors are thrown
// (std::exception) and reported by main as one line.
#pragma once

#include <CLI/CLI.hpp>

namespace forge::cli {

void add_info_command(CLI::App& app, int& exit_code);
void add_run_command(CLI::App& app, int& exit_code);
void add_speculative_command(CLI::App& app, int& exit_code);
void add_logits_command(CLI::App& app, int& exit_code);
void add_bench_command(CLI::App& app, int& exit_code);
void add_perplexity_command(CLI::App& app, int& exit_code);
void add_chat_command(CLI::App& app, int& exit_code);
void add_tokenize_commands(CLI::App& app, int& exit_code);
void add_serve_command(CLI::App& app, int& exit_code);
void add_quantize_command(CLI::App& app, int& exit_code);
void add_dump_command(CLI::App& app, int& exit_code);
void add_synth_command(CLI::App& app, int& exit_code);

void add_compile_command(CLI::App& app, int& exit_code);
void add_export_weights_command(CLI::App& app, int& exit_code);

}  // namespace forge::cli
