// API key check for `--api-key`.
#pragma once

#include <string_view>

namespace forge::server {

// True when `given` equals `key`. The time taken depends only on the key's
// length, never on where the first difference is, so the key cannot be
// guessed byte by byte from response times.
inline bool api_key_matches(std::string_view key, std::string_view given) {
  unsigned diff = key.size() == given.size() ? 0u : 1u;
  for (size_t i = 0; i < key.size(); ++i) {
    const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff |= static_cast<unsigned char>(key[i]) ^ g;
  }
  return diff == 0;
}

}  // namespace forge::server
