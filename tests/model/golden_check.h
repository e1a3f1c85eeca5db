// Shared by the architecture golden tests: run a spec through the interpreter
// on a fixture's reference tokens and compare with reference.json (tolerances
// from fixtures/README.md).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "model/model_spec.h"
#include "nlohmann/json.hpp"

namespace forge::testing {

inline const std::string kFixtures = std::string(FORGE_DATA_DIR) + "/fixtures/";

// Throws (a test failure) naming the file when the shared data is missing.
nlohmann::json load_json(const std::string& path);

struct GoldenCase {
  double tolerance = 1e-4;
  // "logits" or "logits_full_attention" (mistral's GGUF); the greedy keys
  // follow it.
  std::string logits_key = "logits";
  // Greedy ids and greedy_logits_last are compared where the weights are the
  // reference's own (F32): F16/Q8_0 rounding moves logits by more than the
  // fixtures' smallest top-1/top-2 margin.
  bool greedy = true;
  std::string reference = "reference.json";
};

// Prefills all reference tokens (logits at every position), then greedy
// decodes 16 tokens with the KV cache. Returns the worst |diff| of all logits.
double check_spec(const model::ModelSpec& spec, const std::string& fixture, const GoldenCase& c);

}  // namespace forge::testing
