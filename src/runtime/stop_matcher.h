// Stop strings matched across token boundaries in streamed text.
//
// Feed the text of each token as it is decoded; feed() returns what is safe to show now. It holds
// back a tail that could still grow into a stop string, and a tail that is an unfinished UTF-8
// character, so what it emits never ends inside a character. When a stop string appears, the text
// before it is emitted, the stop string and anything after it are dropped, and the matcher is done.
//
// Which stop string: the one that completes first in the stream (the earliest end; at the same end,
// the earliest start), so the result does not depend on how the text was cut into pieces.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace forge::runtime {

struct StopMatch {
  std::string text;      // safe to emit now
  bool stopped = false;  // a stop string was hit; nothing more will be emitted
  int stop_index = -1;   // which of the stop strings, when stopped
};

class StopMatcher {
 public:
  // Throws std::invalid_argument for an empty stop string or one that is not valid UTF-8.
  explicit StopMatcher(std::vector<std::string> stops);

  StopMatch feed(std::string_view piece);

  // At the end of generation: the held-back text (possibly an unfinished UTF-8 character, left for
  // the caller to replace or drop). Empty once stopped.
  std::string flush();

  bool stopped() const { return stopped_; }
  const std::vector<std::string>& stops() const { return stops_; }

 private:
  // Length of the longest suffix of held_ that is a proper prefix of some stop string.
  size_t partial_stop_suffix() const;

  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace forge::runtime
