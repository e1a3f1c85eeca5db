// Every GGUF architecture against its fixture's float64 reference
// (fixtures/README.md): F32 within 1e-4 with greedy ids exact, F16 within
// 0.05, Q8_0 within the distance llama.cpp itself lands (the README's table,
// whose figures are rounded to two digits; both quantize activations to 8 bits
// but round differently, so 5% of slack: a bug moves logits by far more).
#include <gtest/gtest.h>

#include <algorithm>

#include "format/gguf_file.h"
#include "golden_check.h"
#include "model/gguf_model.h"

namespace forge::testing {
namespace {

struct GgufCase {
  std::string fixture;
  double q8_tolerance;  // llama.cpp's q8_0 distance from fixtures/README.md
};

class GgufArchitecture : public ::testing::TestWithParam<GgufCase> {};

void check_file(const std::string& fixture, const std::string& file, const GoldenCase& c) {
  SCOPED_TRACE(fixture + "/" + file);
  GgufFile f = GgufFile::open(kFixtures + fixture + "/" + file);
  model::ModelSpec spec = model::spec_from_gguf(f);
  check_spec(spec, fixture, c);
}

TEST_P(GgufArchitecture, F32) {
  check_file(GetParam().fixture, "model-f32.gguf", {1e-4});
}
TEST_P(GgufArchitecture, F16) {
  check_file(GetParam().fixture, "model-f16.gguf", {0.05, "logits", false});
}
TEST_P(GgufArchitecture, Q8_0) {
  check_file(GetParam().fixture, "model-q8_0.gguf", {1.05 * GetParam().q8_tolerance, "logits", false});
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GgufArchitecture,
                         ::testing::Values(GgufCase{"qwen2", 0.31}, GgufCase{"phi3", 0.44}, GgufCase{"gemma", 0.29},
                                           GgufCase{"gemma2", 0.29}, GgufCase{"gemma3", 0.24},
                                           GgufCase{"stablelm", 0.34}, GgufCase{"stablelm-par", 0.19}),
                         [](const auto& info) {
                           std::string n = info.param.fixture;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace forge::testing
