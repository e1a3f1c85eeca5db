// Runs a shell command for end-to-end tests and captures what it printed.
#pragma once

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

// `s` as one single-quoted shell word.
std::string shell_quote(const std::string& s);

}  // namespace forge::testing
