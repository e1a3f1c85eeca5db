// Stop strings across token boundaries, and UTF-8 safety of what is emitted.
#include "runtime/stop_matcher.h"

#include <gtest/gtest.h>

#include <random>

namespace forge::runtime {
namespace {

// Feeds the pieces in order; returns what was emitted per piece.
std::vector<std::string> feed_all(StopMatcher& m, const std::vector<std::string>& pieces) {
  std::vector<std::string> out;
  for (const auto& p : pieces) out.push_back(m.feed(p).text);
  return out;
}

using Emitted = std::vector<std::string>;

TEST(StopMatcher, NoStopsPassesTextThrough) {
  StopMatcher m({});
  EXPECT_EQ(feed_all(m, {"Hello", ", ", "world"}), (Emitted{"Hello", ", ", "world"}));
  EXPECT_EQ(m.flush(), "");
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcher, StopAcrossPieces) {
  StopMatcher m({"abc"});
  EXPECT_EQ(m.feed("xa").text, "x");  // "a" might start "abc"
  EXPECT_EQ(m.feed("b").text, "");
  const auto r = m.feed("cdef");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.stop_index, 0);
  EXPECT_EQ(r.text, "");
  EXPECT_TRUE(m.stopped());
  // Done: nothing more comes out.
  const auto after = m.feed("more");
  EXPECT_TRUE(after.stopped);
  EXPECT_EQ(after.text, "");
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, StopInsideOnePieceEmitsTheTextBefore) {
  StopMatcher m({"STOP"});
  const auto r = m.feed("hello STOP world");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "hello ");
}

TEST(StopMatcher, HeldPrefixIsReleasedWhenItStopsMatching) {
  StopMatcher m({"abc"});
  EXPECT_EQ(m.feed("ab").text, "");
  const auto r = m.feed("d");  // "abd" is not "abc"
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(r.text, "abd");
}

TEST(StopMatcher, OverlappingStopsWithACommonPrefix) {
  StopMatcher m({"abc", "abd"});
  EXPECT_EQ(m.feed("ab").text, "");
  const auto r = m.feed("d");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.stop_index, 1);
  EXPECT_EQ(r.text, "");
}

TEST(StopMatcher, SelfOverlappingStop) {
  // "aaab" with stop "aab": the stop starts at the second 'a', so one 'a' is emitted.
  StopMatcher m({"aab"});
  EXPECT_EQ(feed_all(m, {"a", "a", "a"}), (Emitted{"", "", "a"}));
  const auto r = m.feed("b");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "");
}

TEST(StopMatcher, FirstStopToCompleteWins) {
  // "bc" completes at byte 3, "abcd" at byte 4, however the text is cut.
  StopMatcher whole({"abcd", "bc"});
  auto r = whole.feed("abcd");
  EXPECT_EQ(r.stop_index, 1);
  EXPECT_EQ(r.text, "a");
  StopMatcher bytes({"abcd", "bc"});
  EXPECT_EQ(feed_all(bytes, {"a", "b"}), (Emitted{"", ""}));
  r = bytes.feed("c");
  EXPECT_EQ(r.stop_index, 1);
  EXPECT_EQ(r.text, "a");
  // Same end: the one that starts first.
  StopMatcher same_end({"bc", "abc"});
  r = same_end.feed("xabc");
  EXPECT_EQ(r.stop_index, 1);
  EXPECT_EQ(r.text, "x");
}

TEST(StopMatcher, FlushReturnsHeldText) {
  StopMatcher m({"abc", "</s>"});
  EXPECT_EQ(m.feed("x<").text, "x");
  EXPECT_EQ(m.feed("/").text, "");
  EXPECT_EQ(m.flush(), "</");
}

TEST(StopMatcher, NeverSplitsAUtf8Character) {
  StopMatcher m({});
  EXPECT_EQ(m.feed("caf\xC3").text, "caf");
  EXPECT_EQ(m.feed("\xA9!").text, "\xC3\xA9!");
  // A 4-byte character (U+1F600) arriving one byte at a time.
  EXPECT_EQ(feed_all(m, {"\xF0", "\x9F", "\x98", "\x80 ok"}), (Emitted{"", "", "", "\xF0\x9F\x98\x80 ok"}));
  // Unfinished at the end: flush hands it over.
  EXPECT_EQ(m.feed("\xE6\x97").text, "");
  EXPECT_EQ(m.flush(), "\xE6\x97");
}

TEST(StopMatcher, InvalidBytesAreNotHeldForever) {
  StopMatcher m({});
  EXPECT_EQ(m.feed("a\xFF").text, "a\xFF");
  EXPECT_EQ(m.feed("\x80").text, "\x80");  // a stray continuation byte
}

TEST(StopMatcher, MultiByteStopStrings) {
  // Stop "é!" (C3 A9 21) and "終わり" cut inside characters.
  StopMatcher m({"\xC3\xA9!", "\xE7\xB5\x82\xE3\x82\x8F\xE3\x82\x8A"});
  EXPECT_EQ(m.feed("caf\xC3").text, "caf");
  EXPECT_EQ(m.feed("\xA9").text, "");  // "é" may start "é!"
  EXPECT_EQ(m.feed("?").text, "\xC3\xA9?");
  EXPECT_EQ(m.feed(" \xE7\xB5").text, " ");
  EXPECT_EQ(m.feed("\x82\xE3\x82\x8F").text, "");
  const auto r = m.feed("\xE3\x82\x8A\xE3\x80\x82");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.stop_index, 1);
  EXPECT_EQ(r.text, "");
}

TEST(StopMatcher, RejectsEmptyAndInvalidStops) {
  EXPECT_THROW(StopMatcher({""}), std::invalid_argument);
  EXPECT_THROW(StopMatcher({"ok", "\xC3"}), std::invalid_argument);
  EXPECT_THROW(StopMatcher({"\x80"}), std::invalid_argument);
}

// By the definition, on the whole text: the earliest end at which some stop ends; among stops
// ending there, the earliest start. Returns the text before it (or all text if none).
std::string expected_output(const std::string& text, const std::vector<std::string>& stops) {
  for (size_t end = 1; end <= text.size(); ++end) {
    size_t start = std::string::npos;
    for (const auto& s : stops)
      if (s.size() <= end && text.compare(end - s.size(), s.size(), s) == 0) start = std::min(start, end - s.size());
    if (start != std::string::npos) return text.substr(0, start);
  }
  return text;
}

bool is_whole_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (i + len > s.size()) return false;
    i += len;
  }
  return true;
}

TEST(StopMatcher, AnyCuttingGivesTheSameTextAndWholeCharacters) {
  const std::vector<std::string> texts = {
      "The end.</s> ignored", "aaaab aab",       "no stop here at all, \xC3\xA9t\xC3\xA9", "\xE7\xB5\x82 \xC3\xA9!x",
      "abab<|im_end|>tail",   "<|im_<|im_end|>", "\xF0\x9F\x98\x80\xF0\x9F\x98\x81 ok",
  };
  const std::vector<std::string> stops = {"</s>", "aab", "<|im_end|>", "\xC3\xA9!", "\xF0\x9F\x98\x81"};
  std::mt19937 rng(7);
  for (const auto& text : texts) {
    const std::string expected = expected_output(text, stops);
    for (int trial = 0; trial < 200; ++trial) {
      StopMatcher m(stops);
      std::string got;
      for (size_t i = 0; i < text.size();) {
        const size_t len = 1 + rng() % 4;
        const auto r = m.feed(std::string_view(text).substr(i, len));
        EXPECT_TRUE(is_whole_utf8(r.text)) << "split character emitted for " << text;
        got += r.text;
        i += len;
      }
      got += m.flush();
      ASSERT_EQ(got, expected) << "text: " << text;
    }
  }
}

}  // namespace
}  // namespace forge::runtime
