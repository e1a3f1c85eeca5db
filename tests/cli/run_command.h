// Runs a shell command for end-to-end tests and captures what it printed.
#pragma once

#include <filesystem>
#include <string>

namespace forge::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `command` through /bin/sh; stdin is empty.
CommandResult run_command(const std::string& command);

// The forge binary under test, quoted for the shell.
std::string forge_bin();

// A new empty directory of this process ("<tmp>/forge_<name>_XXXXXX", made by
// mkdtemp, so never one an earlier run left behind), removed with its contents
// when the process exits. Throws if it cannot be made.
std::filesystem::path scratch_dir(const std::string& name);

// `s` as one single-quoted shell word.
std::string shell_quote(const std::string& s);

}  // namespace forge::testing
