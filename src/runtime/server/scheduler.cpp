#include "runtime/server/scheduler.h"

#include <algorithm>
#include <chrono>
#include <exception>

namespace forge::server {

using runtime::FinishReason;

Scheduler::Scheduler(model::Forward& fwd, const Tokenizer& tok, int queue_limit, Metrics& metrics)
    : fwd_(fwd),
      tok_(tok),
      metrics_(metrics),
      n_slots_(std::max(1, fwd.max_sequences())),
      queue_limit_(std::max(0, queue_limit)),
      n_ctx_(fwd.info().n_ctx) {
  slots_.resize(n_slots_);
  for (int i = 0; i < n_slots_; ++i) slots_[i].seq = i;
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() {
  stop();
}

bool Scheduler::submit(std::vector<GenJob> jobs) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    // Choices that find a free slot do not wait; the rest must fit the queue.
    const int free_slots = n_slots_ - busy_.load();
    const int waiting = static_cast<int>(queue_.size() + jobs.size()) - free_slots;
    if (waiting > queue_limit_) return false;
    for (GenJob& j : jobs) queue_.push_back(std::move(j));
    queued_.store(static_cast<int>(queue_.size()));
  }
  cv_.notify_all();
  return true;
}

void Scheduler::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::cancel_job(GenJob& job) {
  ChoiceEvent e;
  e.index = job.index;
  e.finish = FinishReason::kCancelled;
  e.prompt_tokens = static_cast<int>(job.prompt.size());
  job.channel->push(std::move(e));
}

void Scheduler::loop() {
  std::vector<int> started;
  for (;;) {
    started.clear();
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] {
        if (stopping_ || busy_.load() > 0) return true;
        return !queue_.empty();
      });
      if (stopping_) break;
      admit(started);
    }
    // Prefill the newcomers between steps; their first token comes from the prefill's logits.
    for (int i : started) start(slots_[i]);

    batch_.clear();
    batch_slots_.clear();
    for (Slot& s : slots_) {
      if (!s.job) continue;
      if (s.job->channel->cancelled()) {
        metrics_.cancelled();
        finish(s, FinishReason::kCancelled);
        continue;
      }
      batch_.push_back({s.pending, static_cast<int>(s.cached.size()), s.seq});
      batch_slots_.push_back(s.seq);
    }
    if (batch_.empty()) continue;
    const auto t0 = std::chrono::steady_clock::now();
    // One sequence whose sampler needs only the highest logits: just those
    // (Forward::decode_top; the CUDA program selects them on the GPU).
    const Slot& first = slots_[batch_slots_[0]];
    const runtime::Sampler::TopNeed need = batch_.size() == 1 && first.job->top_logprobs < 0
                                               ? first.sampler->top_needed()
                                               : runtime::Sampler::TopNeed{};
    std::span<const float> logits;
    model::TopLogits top;
    try {
      if (need.k > 0) {
        top = fwd_.decode_top(batch_[0].token, batch_[0].pos, need.k, need.mass, batch_[0].seq);
      } else {
        logits = fwd_.decode_batch(batch_);
      }
    } catch (const std::exception& e) {
      for (int i : batch_slots_) finish(slots_[i], FinishReason::kStop, e.what());
      continue;
    }
    metrics_.decode_step(static_cast<int>(batch_.size()),
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    const size_t n_vocab = logits.size() / batch_.size();
    for (size_t i = 0; i < batch_.size(); ++i) {
      Slot& s = slots_[batch_slots_[i]];
      s.cached.push_back(s.pending);
      on_logits(s, need.k > 0 ? logits : logits.subspan(i * n_vocab, n_vocab), top);
    }
  }
  // Stopping: nothing more is generated; every choice still owed an answer gets one.
  std::deque<GenJob> rest;
  {
    std::lock_guard<std::mutex> lock(mu_);
    rest.swap(queue_);
    queued_.store(0);
  }
  for (GenJob& j : rest) cancel_job(j);
  for (Slot& s : slots_) {
    if (s.job) finish(s, FinishReason::kCancelled);
  }
}

// Called with mu_ held: moves queued choices into free slots.
void Scheduler::admit(std::vector<int>& started) {
  while (!queue_.empty()) {
    GenJob& front = queue_.front();
    if (front.channel->cancelled()) {
      metrics_.cancelled();
      cancel_job(front);
      queue_.pop_front();
      continue;
    }
    const int i = pick_slot(front.prompt);
    if (i < 0) break;
    Slot& s = slots_[i];
    s.job.emplace(std::move(front));
    queue_.pop_front();
    busy_.fetch_add(1);
    started.push_back(i);
  }
  queued_.store(static_cast<int>(queue_.size()));
}

// The free slot whose cache shares the longest prefix with `prompt` (a chat
// resending its history lands where its history is cached), if that prefix
// is at least half the prompt; otherwise an empty slot, or the least
// recently used one, so that a prompt sharing only a BOS or a system prompt
// does not evict another conversation's cache.
int Scheduler::pick_slot(const std::vector<int32_t>& prompt) const {
  int best = -1, fallback = -1;
  size_t best_len = 0;
  for (int i = 0; i < n_slots_; ++i) {
    const Slot& s = slots_[i];
    if (s.job) continue;
    size_t len = 0;
    while (len < s.cached.size() && len < prompt.size() && s.cached[len] == prompt[len]) ++len;
    if (len > best_len) {
      best = i;
      best_len = len;
    }
    auto rank = [](const Slot& x) { return x.cached.empty() ? 0 : x.last_used + 1; };
    if (fallback < 0 || rank(s) < rank(slots_[fallback])) fallback = i;
  }
  return best >= 0 && 2 * best_len >= prompt.size() ? best : fallback;
}

void Scheduler::start(Slot& s) {
  GenJob& job = *s.job;
  s.last_used = ++clock_;
  s.generated = 0;
  s.pending = -1;
  s.out = ChoiceEvent{};
  s.out.index = job.index;
  try {
    s.sampler.emplace(job.sampling, tok_.n_vocab());
    s.decoder.emplace(tok_, /*skip_special=*/true, /*continuation=*/true);
    s.stops.emplace(job.stop);
    // Keep the cached prefix; always recompute the last prompt token for its logits.
    size_t keep = 0;
    while (keep < s.cached.size() && keep < job.prompt.size() && s.cached[keep] == job.prompt[keep]) ++keep;
    if (keep == job.prompt.size()) --keep;
    fwd_.truncate(static_cast<int>(keep), s.seq);
    s.cached.resize(keep);
    for (int32_t t : job.prompt) s.sampler->accept(t);
    auto logits = fwd_.prefill(std::span<const int32_t>(job.prompt).subspan(keep), static_cast<int>(keep),
                               model::Logits::kLast, s.seq);
    s.cached = job.prompt;
    s.prompt_run = static_cast<int>(job.prompt.size() - keep);
    s.prompt_cached = static_cast<int>(keep);
    metrics_.prompt_tokens(s.prompt_run, s.prompt_cached);
    on_logits(s, logits);
  } catch (const std::exception& e) {
    // The cache may hold part of the prompt now: forget it.
    fwd_.truncate(0, s.seq);
    s.cached.clear();
    finish(s, FinishReason::kStop, e.what());
  }
}

void Scheduler::on_logits(Slot& s, std::span<const float> logits, const model::TopLogits& top) {
  GenJob& job = *s.job;
  int32_t tok = -1;
  try {
    std::optional<int32_t> drawn;
    if (!top.top.empty()) drawn = s.sampler->sample_top(top.top, top.mass);
    tok = drawn ? *drawn : s.sampler->sample(top.top.empty() ? logits : fwd_.decode_top_row());
    if (job.top_logprobs >= 0 && !tok_.is_eog(tok)) {
      s.out.logprobs.push_back(s.sampler->logprobs(logits, tok, job.top_logprobs));
    }
  } catch (const std::exception& e) {
    finish(s, FinishReason::kStop, e.what());
    return;
  }
  if (tok_.is_eog(tok)) {
    finish(s, FinishReason::kStop);
    return;
  }
  s.sampler->accept(tok);
  ++s.generated;
  metrics_.generated(1);
  s.out.tokens.push_back(tok);
  runtime::StopMatch m = s.stops->feed(s.decoder->push(tok));
  s.out.text += m.text;
  if (m.stopped) {
    finish(s, FinishReason::kStop);
  } else if (s.generated >= job.max_tokens) {
    finish(s, FinishReason::kLength);
  } else if (static_cast<int>(s.cached.size()) + 1 >= n_ctx_) {
    finish(s, FinishReason::kContextFull);
  } else {
    s.pending = tok;
    flush_event(s);
  }
}

void Scheduler::flush_event(Slot& s) {
  if (s.out.text.empty() && !s.out.finish) return;  // tokens wait until they make text
  ChoiceEvent e = std::move(s.out);
  s.out = ChoiceEvent{};
  s.out.index = e.index;
  s.job->channel->push(std::move(e));
}

void Scheduler::finish(Slot& s, FinishReason reason, const std::string& error) {
  if (error.empty() && reason != FinishReason::kCancelled && s.stops && s.decoder && !s.stops->stopped()) {
    // The held-back tail: an unfinished character, or text that could have begun a stop string.
    runtime::StopMatch m = s.stops->feed(s.decoder->finish());
    s.out.text += m.text;
    if (m.stopped) {
      reason = FinishReason::kStop;
    } else {
      s.out.text += s.stops->flush();
    }
  }
  s.out.finish = reason;
  s.out.error = error;
  s.out.prompt_tokens = static_cast<int>(s.job->prompt.size());
  s.out.cached_tokens = s.prompt_cached;
  s.out.completion_tokens = s.generated;
  ChoiceEvent e = std::move(s.out);
  s.out = ChoiceEvent{};
  std::shared_ptr<RequestChannel> ch = s.job->channel;
  s.job.reset();
  s.sampler.reset();
  s.decoder.reset();
  s.stops.reset();
  s.pending = -1;
  busy_.fetch_sub(1);
  ch->push(std::move(e));
}

}  // namespace forge::server
