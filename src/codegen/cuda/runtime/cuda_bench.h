// `model --gpu-bench [weights.bin] [--pp N] [--tg N] [--reps N] [--profile]`:
// what llama-bench measures, on the compiled model. pp: one prompt of N
// tokens (random ids) through prefill; tg: N tokens generated greedily on
// the GPU (one graph launch a token, argmax on the device, nothing read back
// until the end). Medians of --reps runs after one warm-up. --profile times
// each op of one decode step (launched without the graph, events between
// ops). Prints one JSON object.
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "codegen/cuda/runtime/cuda_model.h"
#include "nlohmann/json.hpp"

namespace forge::cuda_rt {

using ModelFactory = std::unique_ptr<model::Forward> (*)(const std::string&, int);

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

inline int gpu_bench_main(int argc, char** argv, const char* name, ModelFactory make_model) {
  try {
    std::string weights;
    int pp = 512, tg = 128, reps = 5;
    bool profile = false;
    for (int i = 2; i < argc; ++i) {
      const std::string a = argv[i];
      auto next = [&]() -> int {
        if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
        return std::atoi(argv[++i]);
      };
      if (a == "--pp") pp = next();
      else if (a == "--tg") tg = next();
      else if (a == "--reps") reps = std::max(1, next());
      else if (a == "--profile") profile = true;
      else if (!a.empty() && a[0] != '-') weights = a;
      else throw std::invalid_argument("--gpu-bench: unknown option " + a);
    }
    if (weights.empty()) {
      std::error_code ec;
      weights = (std::filesystem::read_symlink("/proc/self/exe", ec).parent_path() / "weights.bin").string();
    }
    auto fwd = make_model(weights, 0);
    auto* m = dynamic_cast<CudaModel*>(fwd.get());
    const int vocab = fwd->info().n_vocab;
    std::vector<int32_t> prompt(std::max(pp, 1));
    uint32_t state = 12345;
    for (int32_t& t : prompt) {
      state = state * 1664525u + 1013904223u;  // Numerical Recipes LCG: any ids will do
      t = static_cast<int32_t>((state >> 8) % static_cast<uint32_t>(vocab));
    }
    std::vector<double> pp_s, tg_s;
    std::vector<int32_t> gen;
    for (int r = 0; r <= reps; ++r) {  // run 0 warms up
      fwd->truncate(0);
      const auto t0 = std::chrono::steady_clock::now();
      fwd->prefill(prompt, 0, model::Logits::kLast);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (r > 0) pp_s.push_back(s);
    }
    for (int r = 0; r <= reps; ++r) {
      fwd->truncate(0);
      fwd->prefill({prompt.data(), 1}, 0, model::Logits::kLast);
      const double s = m->decode_greedy_on_device(prompt[0], 1, tg, &gen);
      if (r > 0) tg_s.push_back(s);
    }
    nlohmann::json j = {{"model", name},
                        {"device", m->device_name()},
                        {"weight_bytes_per_token", fwd->info().weight_bytes_per_token},
                        {"pp", pp},
                        {"pp_tok_s", pp / median(pp_s)},
                        {"tg", tg},
                        {"tg_tok_s", tg / median(tg_s)},
                        {"tg_first_tokens", std::vector<int32_t>(gen.begin(), gen.begin() + std::min<size_t>(8, gen.size()))}};
    if (profile) {
      // Summed by op name without "blk.N.": {kind: {ms, launches}}, total ms.
      auto summed = [](const std::vector<std::pair<std::string, float>>& ops, nlohmann::json* out, double* total) {
        std::map<std::string, std::pair<double, int>> by_kind;
        *total = 0;
        for (const auto& [op, ms] : ops) {
          std::string kind = op;
          if (kind.rfind("blk.", 0) == 0) kind = kind.substr(kind.find('.', 4) + 1);
          by_kind[kind].first += ms;
          by_kind[kind].second += 1;
          *total += ms;
        }
        *out = nlohmann::json::object();
        for (const auto& [k, v] : by_kind) (*out)[k] = {{"ms", v.first}, {"launches", v.second}};
      };
      fwd->truncate(0);
      fwd->prefill({prompt.data(), std::min<size_t>(prompt.size(), 64)}, 0, model::Logits::kNone);
      const int pos = static_cast<int>(std::min<size_t>(prompt.size(), 64));
      auto ops = m->profile_step({prompt.data(), 1}, pos);
      ops = m->profile_step({prompt.data(), 1}, pos);  // the second: caches and clocks warm
      nlohmann::json prof;
      double total = 0;
      summed(ops, &prof, &total);
      j["profile_ms"] = prof;
      j["profile_total_ms"] = total;
      // One prefill step of min(pp, max_batch) tokens from position 0.
      const size_t n = std::min<size_t>(prompt.size(), static_cast<size_t>(m->max_batch()));
      fwd->truncate(0);
      ops = m->profile_step({prompt.data(), n}, 0);
      ops = m->profile_step({prompt.data(), n}, 0);
      summed(ops, &prof, &total);
      j["prefill_profile_ms"] = prof;
      j["prefill_profile_total_ms"] = total;
      j["prefill_profile_tokens"] = n;
    }
    std::printf("%s\n", j.dump().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", argc > 0 ? argv[0] : "model", e.what());
    return 1;
  }
}

}  // namespace forge::cuda_rt
