#include "runtime/perplexity.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace forge::runtime {

double PerplexityResult::nll_mean() const {
  return scored > 0 ? nll_sum / scored : NAN;
}

double PerplexityResult::nll_stderr() const {
  if (scored < 2) return 0.0;
  const double mean = nll_mean();
  const double variance = std::max(0.0, nll_sq_sum / scored - mean * mean);
  return std::sqrt(variance / (scored - 1));
}

double PerplexityResult::ppl() const {
  return std::exp(nll_mean());
}

double PerplexityResult::ppl_stderr() const {
  return ppl() * nll_stderr();
}

int scored_per_chunk(int chunk) {
  return chunk - 1 - chunk / 2;
}

PerplexityResult perplexity(model::Forward& fwd, std::span<const int32_t> tokens, const PerplexityOptions& o,
                            const std::function<void(int done, int chunks, const PerplexityResult&)>& on_chunk) {
  if (o.chunk < 3) throw std::invalid_argument("a chunk must hold at least 3 tokens, not " + std::to_string(o.chunk));
  int chunks = static_cast<int>(tokens.size() / o.chunk);
  if (chunks == 0) {
    throw std::invalid_argument("the text has " + std::to_string(tokens.size()) + " tokens, fewer than one chunk of " +
                                std::to_string(o.chunk) + ": give more text or a smaller context");
  }
  if (o.max_chunks > 0) chunks = std::min(chunks, o.max_chunks);
  const int n_vocab = fwd.info().n_vocab;
  const int first = o.chunk / 2;
  PerplexityResult r;
  r.chunk = o.chunk;
  std::vector<int32_t> ids(o.chunk);
  for (int c = 0; c < chunks; ++c) {
    std::copy_n(tokens.begin() + static_cast<ptrdiff_t>(c) * o.chunk, o.chunk, ids.begin());
    if (o.bos >= 0) ids[0] = o.bos;
    fwd.truncate(0);
    const auto logits = fwd.prefill(ids, 0, model::Logits::kAll);
    double chunk_sum = 0;
    for (int j = first; j + 1 < o.chunk; ++j) {
      const auto row = logits.subspan(static_cast<size_t>(j) * n_vocab, n_vocab);
      float m = -INFINITY;
      for (float l : row) {
        if (model::unusable_logit(l)) {
          throw std::runtime_error("chunk " + std::to_string(c + 1) + ", position " + std::to_string(j) +
                                   ": the model computed a logit of " + std::to_string(l));
        }
        m = std::max(m, l);
      }
      double sum = 0;
      for (float l : row) sum += std::exp(static_cast<double>(l) - m);
      const double nll = std::log(sum) + m - row[ids[j + 1]];
      chunk_sum += nll;
      r.nll_sum += nll;
      r.nll_sq_sum += nll * nll;
    }
    r.scored += scored_per_chunk(o.chunk);
    r.chunk_nll.push_back(chunk_sum / scored_per_chunk(o.chunk));
    if (on_chunk) on_chunk(c + 1, chunks, r);
  }
  fwd.truncate(0);
  return r;
}

}  // namespace forge::runtime
