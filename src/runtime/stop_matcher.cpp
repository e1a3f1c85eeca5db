#include "runtime/stop_matcher.h"

#include <algorithm>
#include <stdexcept>

namespace forge::runtime {
namespace {

// Length of the UTF-8 sequence a lead byte starts; 0 for a continuation or invalid byte.
size_t utf8_sequence_length(unsigned char c) {
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return 2;
  if (c >= 0xE0 && c <= 0xEF) return 3;
  if (c >= 0xF0 && c <= 0xF4) return 4;
  return 0;
}

bool is_continuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

// How many bytes at the end of s are the start of a character still missing bytes (0 to 3).
// Invalid bytes are not held: they would never complete.
size_t unfinished_utf8_tail(std::string_view s) {
  for (size_t back = 1; back <= std::min<size_t>(3, s.size()); ++back) {
    const auto c = static_cast<unsigned char>(s[s.size() - back]);
    if (is_continuation(c)) continue;
    return utf8_sequence_length(c) > back ? back : 0;
  }
  return 0;
}

// A structural check (lead and continuation bytes), enough for matching byte sequences.
bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t len = utf8_sequence_length(static_cast<unsigned char>(s[i]));
    if (len == 0 || i + len > s.size()) return false;
    for (size_t j = 1; j < len; ++j)
      if (!is_continuation(static_cast<unsigned char>(s[i + j]))) return false;
    i += len;
  }
  return true;
}

}  // namespace

StopMatcher::StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {
  for (size_t i = 0; i < stops_.size(); ++i) {
    if (stops_[i].empty()) throw std::invalid_argument("stop string " + std::to_string(i) + " is empty");
    if (!is_valid_utf8(stops_[i]))
      throw std::invalid_argument("stop string " + std::to_string(i) + " is not valid UTF-8");
  }
}

size_t StopMatcher::partial_stop_suffix() const {
  const std::string_view held(held_);
  size_t best = 0;
  for (const auto& stop : stops_) {
    for (size_t len = std::min(held.size(), stop.size() - 1); len > best; --len) {
      if (held.substr(held.size() - len) == std::string_view(stop).substr(0, len)) {
        best = len;
        break;
      }
    }
  }
  return best;
}

StopMatch StopMatcher::feed(std::string_view piece) {
  StopMatch out;
  if (stopped_) {
    out.stopped = true;
    return out;
  }
  held_.append(piece);

  // held_ never contains a complete stop string from before this piece, so any match here ends
  // inside the new piece; take the one that ends first.
  size_t best_end = std::string::npos, best_pos = 0;
  for (size_t i = 0; i < stops_.size(); ++i) {
    const size_t pos = held_.find(stops_[i]);
    if (pos == std::string::npos) continue;
    const size_t end = pos + stops_[i].size();
    if (end < best_end || (end == best_end && pos < best_pos)) {
      best_end = end;
      best_pos = pos;
      out.stop_index = int(i);
    }
  }
  if (out.stop_index >= 0) {
    out.text = held_.substr(0, best_pos);
    out.stopped = stopped_ = true;
    held_.clear();
    return out;
  }

  size_t emit = held_.size() - partial_stop_suffix();
  emit -= unfinished_utf8_tail(std::string_view(held_).substr(0, emit));
  out.text = held_.substr(0, emit);
  held_.erase(0, emit);
  return out;
}

std::string StopMatcher::flush() {
  std::string rest = std::move(held_);
  held_.clear();
  return rest;
}

}  // namespace forge::runtime
