// Progress of a long job over a list of items (tensors) on stderr: one line per
// item when stderr is a file or a pipe (logs stay readable), a bar redrawn in
// place when it is a terminal.
#pragma once

#include <cstdint>
#include <string>

namespace forge::cli {

class ProgressBar {
 public:
  ProgressBar(int n_items, uint64_t total_bytes);
  // Item `i` (0-based) is done; `detail` describes it ("name f32 -> q4_K ...").
  void item_done(int i, uint64_t bytes, const std::string& detail);
  // A message that must stay on screen (a fallback warning).
  void note(const std::string& line);
  void finish();

 private:
  int n_items_;
  uint64_t total_bytes_;
  uint64_t done_bytes_ = 0;
  bool tty_;
  bool bar_drawn_ = false;
};

// "1.50 MiB"
std::string format_bytes(double bytes);

}  // namespace forge::cli
