// `forge bench`: prompt-processing and generation speed, measured the way
// llama-bench measures them (pp: one prefill of P tokens; tg: N single-token
// decode steps from an empty cache), repeated, with mean and spread.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <thread>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "nlohmann/json.hpp"

namespace forge::cli {

namespace {

struct Stat {
  double mean = 0, stddev = 0;
};

Stat stats(const std::vector<double>& v) {
  Stat s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  for (double x : v) s.stddev += (x - s.mean) * (x - s.mean);
  s.stddev = v.size() > 1 ? std::sqrt(s.stddev / static_cast<double>(v.size() - 1)) : 0.0;
  return s;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Read bandwidth of this machine with `threads` threads over a buffer far
// larger than the caches: the denominator of the roofline.
double measure_read_bandwidth(int threads) {
  const size_t bytes = size_t{1} << 30;
  std::vector<uint64_t> buf(bytes / sizeof(uint64_t), 1);
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    std::vector<uint64_t> sums(threads);
    const double t0 = now_seconds();
    std::vector<std::thread> ts;
    const size_t per = buf.size() / threads;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&, t] {
        uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        const uint64_t* p = buf.data() + t * per;
        for (size_t i = 0; i + 4 <= per; i += 4) {
          s0 += p[i];
          s1 += p[i + 1];
          s2 += p[i + 2];
          s3 += p[i + 3];
        }
        sums[t] = s0 + s1 + s2 + s3;
      });
    }
    for (auto& t : ts) t.join();
    const double dt = now_seconds() - t0;
    uint64_t total = 0;
    for (uint64_t s : sums) total += s;
    if (total == 0) std::fputc(' ', stderr);  // keeps the loads alive
    best = std::max(best, static_cast<double>(bytes) / dt);
  }
  return best;
}

long peak_rss_kib() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

}  // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
  struct Options {
    ModelOptions model;
    int prompt = 512;
    int gen = 128;
    int reps = 5;
    bool json = false;
    bool roof = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure prompt processing (pp) and generation (tg) speed");
  cmd->footer(
      "Example:\n"
      "  forge bench -m model.gguf -p 512 -n 128 -r 5 -t 2 --roof\n\n"
      "pp: one prefill of P random tokens; tg: N decode steps of one token from an empty cache (as llama-bench).\n"
      "--roof also measures this machine's read bandwidth and prints generation speed as a fraction of the\n"
      "roof: bandwidth / weight bytes read per token.");
  add_model_options(cmd, o->model);
  cmd->add_option("-p,--prompt-tokens", o->prompt, "Prompt tokens for pp (0: skip)")->capture_default_str();
  cmd->add_option("-n,--gen-tokens", o->gen, "Generated tokens for tg (0: skip)")->capture_default_str();
  cmd->add_option("-r,--repetitions", o->reps, "Repetitions")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_flag("--json", o->json, "Print the results as JSON");
  cmd->add_flag("--roof", o->roof, "Measure read bandwidth and report tg as a fraction of the bandwidth roof");
  cmd->callback([o, &exit_code] {
    auto m = o->model.load();
    interp::InterpreterOptions io = o->model.interpreter_options();
    const int needed = std::max(o->prompt, o->gen) + 1;
    if (io.n_ctx <= 0) io.n_ctx = needed;
    if (io.n_ctx < needed) throw std::invalid_argument("--ctx is smaller than the benchmark's tokens");
    auto fwd = m->interpreter(io);
    const int n_vocab = m->spec().n_vocab;
    std::mt19937 rng(1234);
    std::uniform_int_distribution<int32_t> pick(0, n_vocab - 1);
    std::vector<int32_t> tokens(std::max(o->prompt, 1));
    for (auto& t : tokens) t = pick(rng);

    nlohmann::json results = nlohmann::json::array();
    auto report = [&](const std::string& test, int n, const std::vector<double>& secs) {
      std::vector<double> tps;
      for (double s : secs) tps.push_back(n / s);
      Stat st = stats(tps);
      results.push_back({{"test", test}, {"tokens", n}, {"tokens_per_second", st.mean}, {"stddev", st.stddev},
                         {"samples", tps}});
    };
    // One untimed warm-up of each kind (page faults, caches), as llama-bench does.
    if (o->prompt > 0) {
      fwd->truncate(0);
      fwd->prefill(tokens, 0, model::Logits::kLast);
      std::vector<double> secs;
      for (int r = 0; r < o->reps; ++r) {
        fwd->truncate(0);
        const double t0 = now_seconds();
        fwd->prefill(tokens, 0, model::Logits::kLast);
        secs.push_back(now_seconds() - t0);
      }
      report("pp" + std::to_string(o->prompt), o->prompt, secs);
    }
    if (o->gen > 0) {
      fwd->truncate(0);
      fwd->decode(tokens[0], 0);
      std::vector<double> secs;
      for (int r = 0; r < o->reps; ++r) {
        fwd->truncate(0);
        const double t0 = now_seconds();
        int32_t tok = tokens[0];
        for (int i = 0; i < o->gen; ++i) {
          auto logits = fwd->decode(tok, i);
          tok = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
        }
        secs.push_back(now_seconds() - t0);
      }
      report("tg" + std::to_string(o->gen), o->gen, secs);
    }
    const auto& info = fwd->info();
    const long rss_kib = peak_rss_kib();  // before the bandwidth probe's buffer
    nlohmann::json out = {{"model", o->model.model},
                          {"architecture", info.arch},
                          {"file_bytes", m->file().file_size()},
                          {"weight_bytes_per_token", info.weight_bytes_per_token},
                          {"threads", fwd->threads()},
                          {"isa", std::string(kernels::cpu::isa_name(fwd->isa()))},
                          {"peak_rss_bytes", static_cast<uint64_t>(rss_kib) * 1024},
                          {"results", results}};
    if (o->roof) {
      const double bw = measure_read_bandwidth(fwd->threads());
      out["read_bandwidth_bytes_per_second"] = bw;
      const double roof = bw / static_cast<double>(info.weight_bytes_per_token);
      out["tg_roof_tokens_per_second"] = roof;
      for (auto& r : out["results"]) {
        if (r["test"].get<std::string>().rfind("tg", 0) == 0) r["fraction_of_roof"] = r["tokens_per_second"].get<double>() / roof;
      }
    }
    if (o->json) {
      std::printf("%s\n", out.dump(2).c_str());
    } else {
      std::printf("model %s (%s), %.2f MiB, %d threads, %s, peak RSS %.1f MiB\n", o->model.model.c_str(),
                  info.arch.c_str(), m->file().file_size() / 1048576.0, fwd->threads(),
                  std::string(kernels::cpu::isa_name(fwd->isa())).c_str(), rss_kib / 1024.0);
      std::printf("%-8s %14s %10s", "test", "t/s", "stddev");
      if (o->roof) std::printf(" %10s", "of roof");
      std::printf("\n");
      for (const auto& r : out["results"]) {
        std::printf("%-8s %14.2f %10.2f", r["test"].get<std::string>().c_str(), r["tokens_per_second"].get<double>(),
                    r["stddev"].get<double>());
        if (r.contains("fraction_of_roof")) std::printf(" %9.1f%%", 100.0 * r["fraction_of_roof"].get<double>());
        std::printf("\n");
      }
      if (o->roof) {
        std::printf("read bandwidth %.2f GB/s; weights per token %.2f MiB; roof %.1f tok/s\n",
                    out["read_bandwidth_bytes_per_second"].get<double>() / 1e9,
                    info.weight_bytes_per_token / 1048576.0, out["tg_roof_tokens_per_second"].get<double>());
      }
    }
    exit_code = 0;
  });
}

}  // namespace forge::cli
