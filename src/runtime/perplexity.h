// Perplexity of a model on a text, computed the way llama.cpp's perplexity
// tool computes it, so the two figures compare: the text's tokens are cut
// into chunks of `chunk` tokens, each chunk runs from an empty cache, and in
// each chunk the tokens of its second half are scored by the logits before
// them (the first half is context only).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "model/forward.h"

namespace forge::runtime {

struct PerplexityOptions {
  int chunk = 512;     // tokens a chunk (at least 3, at most the Forward's context)
  int max_chunks = 0;  // 0: every whole chunk of the text
  int32_t bos = -1;    // >= 0: the first token of every chunk becomes this (as the text's first one is)
};

struct PerplexityResult {
  int chunk = 0;                  // tokens a chunk
  int scored = 0;                 // tokens scored, over all chunks
  double nll_sum = 0;             // their negative log-likelihoods (natural log), summed
  double nll_sq_sum = 0;          // and their squares
  std::vector<double> chunk_nll;  // the mean negative log-likelihood of each chunk run so far

  double nll_mean() const;
  double nll_stderr() const;  // the standard error of nll_mean (0 for one token)
  double ppl() const;         // exp(nll_mean)
  double ppl_stderr() const;  // ppl's standard error, to first order: ppl * nll_stderr
};

// The tokens a chunk scores: positions chunk/2 .. chunk-2 predict the next one.
int scored_per_chunk(int chunk);

// Runs every whole chunk of `tokens` (at most o.max_chunks) through `fwd`
// (sequence 0; its cache is emptied before each chunk) and scores them;
// `on_chunk` sees the result so far after each chunk. Throws
// std::invalid_argument for a chunk size under 3 or fewer tokens than one
// chunk, std::runtime_error for a NaN or +infinity logit.
PerplexityResult perplexity(model::Forward& fwd, std::span<const int32_t> tokens, const PerplexityOptions& o,
                            const std::function<void(int done, int chunks, const PerplexityResult&)>& on_chunk = {});

}  // namespace forge::runtime
