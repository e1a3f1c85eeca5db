#include "cli/progress_bar.h"

#include <unistd.h>

#include <cstdio>

namespace forge::cli {

std::string format_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.2f %s" : "%.0f %s", b, units[u]);
  return buf;
}

ProgressBar::ProgressBar(int n_items, uint64_t total_bytes)
    : n_items_(n_items), total_bytes_(total_bytes), tty_(::isatty(STDERR_FILENO) == 1) {}

void ProgressBar::item_done(int i, uint64_t bytes, const std::string& detail) {
  done_bytes_ += bytes;
  const int width = static_cast<int>(std::to_string(n_items_).size());
  if (!tty_) {
    std::fprintf(stderr, "[%*d/%d] %s\n", width, i + 1, n_items_, detail.c_str());
    return;
  }
  constexpr int kBar = 30;
  const double frac = total_bytes_ ? static_cast<double>(done_bytes_) / static_cast<double>(total_bytes_) : 1.0;
  const int fill = static_cast<int>(frac * kBar + 0.5);
  std::string bar(static_cast<size_t>(fill), '=');
  bar.resize(kBar, ' ');
  std::fprintf(stderr, "\r\033[K[%s] %*d/%d %5.1f%% %s / %s  %.40s", bar.c_str(), width, i + 1, n_items_, frac * 100,
               format_bytes(static_cast<double>(done_bytes_)).c_str(),
               format_bytes(static_cast<double>(total_bytes_)).c_str(), detail.c_str());
  std::fflush(stderr);
  bar_drawn_ = true;
}

void ProgressBar::note(const std::string& line) {
  if (tty_ && bar_drawn_) std::fputs("\r\033[K", stderr);
  std::fprintf(stderr, "%s\n", line.c_str());
}

void ProgressBar::finish() {
  if (tty_ && bar_drawn_) std::fputs("\n", stderr);
  bar_drawn_ = false;
}

}  // namespace forge::cli
