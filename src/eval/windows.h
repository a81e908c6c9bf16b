// How llama-perplexity cuts a tokenized text into evaluation windows and which tokens it scores
// (FORMATS.md §8.1/8.2):
//
//   tokens:  [ chunk 0: n_ctx tokens ][ chunk 1 ] ... [ chunk n_chunk−1 ][ dropped tail < n_ctx ]
//   window k = tokens[k·n_ctx, (k+1)·n_ctx) with token 0 replaced by BOS (when the vocab adds BOS)
//   scored:  positions first+1 … n_ctx−1, each with the logits of the position before it;
//            first = n_ctx/2 (default) or 0 (score_all: every token after the window's first)
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace qforge::eval {

// Produces the logits of every position of a token sequence: logits[i·n_vocab + v] = z_v after tokens[0..i].
// The sequence is evaluated from an empty cache. `logits` holds tokens.size()·n_vocab floats.
using LogitsFn = std::function<void(std::span<const int32_t> tokens, float* logits)>;

inline constexpr int64_t kMinContext = 4;        // smaller windows would score nothing useful
inline constexpr int64_t kMaxContext = 1 << 20;  // sanity bound on --ctx (a 1M-token window)

struct WindowOptions {
  int64_t n_ctx = 512;             // window length in tokens
  int64_t max_chunks = -1;         // --chunks: at most this many windows; −1 = all
  bool score_all = false;          // --full: score every token, not only the second half
  std::optional<int32_t> bos_id;   // set iff the vocab adds BOS: replaces each window's first token
};

struct WindowPlan {
  int64_t n_ctx = 0;
  int64_t n_chunk = 0;            // windows evaluated
  int64_t first = 0;              // logits of positions first … n_ctx−2 are used
  int64_t scored_per_chunk = 0;   // n_ctx − 1 − first
  std::optional<int32_t> bos_id;
  int64_t scored_total() const { return n_chunk * scored_per_chunk; }
};

// Validates the options against the token count (at least 2·n_ctx tokens, like the reference) and plans the
// windows. `what` names the text in error messages.
WindowPlan PlanWindows(int64_t n_tokens, const WindowOptions& options, const char* what);

// Window k as evaluated: tokens[k·n_ctx, (k+1)·n_ctx) with BOS substituted for its first token.
void FillWindow(std::span<const int32_t> tokens, const WindowPlan& plan, int64_t k, std::vector<int32_t>* window);

}  // namespace qforge::eval
