#include "runtime/server/metrics.h"

#include <algorithm>
#include <cstdio>

namespace forge::server {

namespace {
constexpr std::chrono::seconds kWindow{5};  // tokens/s averages over this much recent time

void line(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void value(std::string& out, const std::string& name, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, " %.17g\n", v);
  out += name;
  out += buf;
}
}  // namespace

const char* endpoint_name(Endpoint e) {
  switch (e) {
    case Endpoint::kChat:
      return "chat_completions";
    case Endpoint::kCompletions:
      return "completions";
    case Endpoint::kModels:
      return "models";
    case Endpoint::kHealth:
      return "health";
    case Endpoint::kTokenize:
      return "tokenize";
    case Endpoint::kDetokenize:
      return "detokenize";
    case Endpoint::kMetrics:
      return "metrics";
    case Endpoint::kPage:
      return "page";
    case Endpoint::kOther:
      return "other";
    case Endpoint::kCount:
      break;
  }
  return "other";
}

void Metrics::response_status(int status) {
  if (status >= 500) {
    status_5xx_.fetch_add(1);
  } else if (status >= 400) {
    status_4xx_.fetch_add(1);
  } else {
    status_2xx_.fetch_add(1);
  }
}

void Metrics::decode_step(int tokens, double seconds) {
  decode_steps_.fetch_add(1);
  decode_micros_.fetch_add(static_cast<uint64_t>(seconds * 1e6));
  const auto now = Clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  recent_.push_back({now, tokens});
  while (!recent_.empty() && now - recent_.front().at > kWindow) recent_.pop_front();
}

double Metrics::recent_tokens_per_second() const {
  const auto now = Clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t n = 0;
  Clock::time_point first = now;
  for (const Step& s : recent_) {
    if (now - s.at > kWindow) continue;
    n += s.tokens;
    if (s.at < first) first = s.at;
  }
  if (n == 0) return 0;
  // Over the span the steps cover (at least 1 s, so one fast burst does not read as a huge rate).
  const double span = std::max(1.0, std::chrono::duration<double>(now - first).count());
  return static_cast<double>(n) / span;
}

std::string Metrics::render(const SlotGauges& g) const {
  std::string out;
  line(out, "forge_requests_total", "counter", "HTTP requests received, by endpoint.");
  for (int i = 0; i < static_cast<int>(Endpoint::kCount); ++i) {
    value(out, std::string("forge_requests_total{endpoint=\"") + endpoint_name(static_cast<Endpoint>(i)) + "\"}",
          static_cast<double>(requests_[i].load()));
  }
  line(out, "forge_responses_total", "counter", "HTTP responses sent, by status class.");
  value(out, "forge_responses_total{class=\"2xx\"}", static_cast<double>(status_2xx_.load()));
  value(out, "forge_responses_total{class=\"4xx\"}", static_cast<double>(status_4xx_.load()));
  value(out, "forge_responses_total{class=\"5xx\"}", static_cast<double>(status_5xx_.load()));
  line(out, "forge_prompt_tokens_total", "counter", "Prompt tokens run through prefill (reused prefixes excluded).");
  value(out, "forge_prompt_tokens_total", static_cast<double>(prompt_tokens_.load()));
  line(out, "forge_prompt_tokens_cached_total", "counter", "Prompt tokens found in a slot's cache and not recomputed.");
  value(out, "forge_prompt_tokens_cached_total", static_cast<double>(cached_tokens_.load()));
  line(out, "forge_generated_tokens_total", "counter", "Tokens generated.");
  value(out, "forge_generated_tokens_total", static_cast<double>(generated_tokens_.load()));
  line(out, "forge_decode_steps_total", "counter", "Batched decode steps (one token for every active slot).");
  value(out, "forge_decode_steps_total", static_cast<double>(decode_steps_.load()));
  line(out, "forge_decode_seconds_total", "counter", "Time spent in batched decode steps.");
  value(out, "forge_decode_seconds_total", static_cast<double>(decode_micros_.load()) / 1e6);
  line(out, "forge_requests_cancelled_total", "counter",
       "Generations stopped because the client went away or on shutdown.");
  value(out, "forge_requests_cancelled_total", static_cast<double>(cancelled_.load()));
  line(out, "forge_requests_rejected_total", "counter", "Requests refused with 503 because the queue was full.");
  value(out, "forge_requests_rejected_total", static_cast<double>(rejected_full_.load()));
  line(out, "forge_tokens_per_second", "gauge", "Generated tokens per second over the last 5 seconds.");
  value(out, "forge_tokens_per_second", recent_tokens_per_second());
  line(out, "forge_queue_depth", "gauge", "Choices waiting for a slot.");
  value(out, "forge_queue_depth", g.queued);
  line(out, "forge_slots_busy", "gauge", "Slots generating now.");
  value(out, "forge_slots_busy", g.busy);
  line(out, "forge_slots_total", "gauge", "Slots (sequences decoded together).");
  value(out, "forge_slots_total", g.total);
  return out;
}

}  // namespace forge::server
