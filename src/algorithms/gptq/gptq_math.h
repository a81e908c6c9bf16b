// GPTQ as pure math (FORMATS.md §3): (W, H, options) -> integer codes, scales, zero points, g_idx.
// No model, no files: the pipeline adapter (pipeline/calibrate) feeds it a Linear weight and the Hessian
// of that Linear's inputs.
//
// Two conventions for WHEN group parameters are computed (../shared/golden/gptq/README.md):
//  * kLlmCompressor (default): every group's scale/zero comes from the weight as given, before the solve
//    and before dead columns are zeroed, with compressed-tensors' qparam and rounding rules (§3.5 table 2).
//  * kReference (IST-DASLab gptq.py): per-channel parameters from the weight as given; with
//    `static_groups`, from the weight after the dead-column fix; otherwise a group's parameters are computed
//    when the group starts in processing order, from the partly updated W (completed blocks' lazy updates
//    only, §3.5). Reference qparam and rounding rules (§3.4). This reproduces the golden files bit for bit.
//
// Activation order: kNone (natural order), kStatic (process in descending diag(H); groups stay contiguous
// in the ORIGINAL column order; no g_idx stored; llm-compressor's default; the reference's
// --actorder --static-groups), kGroup (groups contiguous in the PERMUTED order; g_idx stored as
// weight_g_idx; the reference's --actorder without static groups).
//
// Arithmetic is float32 like both references; the solve is row-parallel on the global thread pool and the
// lazy block update is one sgemm per block.
//
// Two steps, so Linears that read the same input (q/k/v, gate/up) share one factorisation:
//   Factorize(H)  dead columns, activation order, dampening and U = chol(H^-1)^T: everything that depends
//                 on H alone (dead columns and the order depend only on diag(H)), once per input;
//   Solve(W, F)   the weight's own work: parameters, dead columns zeroed, column loop.
// Quantize(W, H) = Solve(W, Factorize(H)), bit for bit.
#pragma once

#include <cstdint>
#include <vector>

#include "algorithms/gptq/qparams.h"

namespace qforge::algorithms::gptq {

enum class Convention { kLlmCompressor, kReference };
enum class ActOrder { kNone, kStatic, kGroup };

struct Options {
  int bits = 4;                // 2..8
  int64_t group_size = 128;    // columns per group; -1 = per output channel
  bool symmetric = true;
  ActOrder actorder = ActOrder::kStatic;
  Convention convention = Convention::kLlmCompressor;
  bool static_groups = false;  // kReference only, with actorder kNone: parameters from W before the solve
  double dampening_frac = 0.01;  // damp = frac * mean(diag(H)) added to the diagonal
  int64_t block_size = 128;    // lazy-batch block width
  // Cholesky/inverse in float64, cast to float32 for the column loop (which stays float32). Matches the
  // reference's codes on all golden cases (the float32 LAPACK path flips 7 of 49,152 on one case) and is
  // more robust on ill-conditioned H; float32 halves the time of the O(cols^3) factorisations.
  bool solve_in_f64 = true;
  // kLlmCompressor with actorder kNone/kStatic or per-channel: parameters computed elsewhere, [rows, groups]
  // in natural group order (e.g. by codecs::ComputeQParams in the model dtype, so scales are the exact bf16
  // values llm-compressor >= 0.11 stores). Null: computed here in float32 from the weight as given.
  const std::vector<QParams>* upfront_params = nullptr;
  // Round each dequantized value inside the column loop (the value whose error is propagated, and Wq) to
  // this storage type. llm-compressor (>= 0.11, compressed-tensors fake_quantize) dequantizes with the
  // scale tensor's dtype, which is the model dtype when the scales are observed from the stored weight:
  // (q - z) * s is rounded to bf16 for a bf16 model. kNone: float32 (the reference; f32 models).
  enum class Round { kNone, kBF16, kF16 };
  Round dequant_round = Round::kNone;
  bool keep_wq = true;  // fill Result::wq (the pipeline, which keeps only codes, turns it off)
};

// Everything GPTQ derives from H alone, shared by every weight whose input has this H.
struct Factorization {
  int64_t cols = 0;
  // [cols, cols] row-major, two matrices in one buffer: on and below the diagonal, H as given (original
  // column order, before the dead-column fix and dampening; for error figures); strictly above the diagonal,
  // U (processing order), the upper Cholesky factor of the dampened H^-1. U's diagonal is u_diag.
  std::vector<float> m;
  std::vector<float> u_diag;
  std::vector<int64_t> perm;        // processing order (perm[k] = original column); identity without actorder
  std::vector<uint8_t> dead;        // [cols] 1 where diag(H) == 0
  int64_t dead_columns = 0;
  bool cholesky_failed = false;     // kLlmCompressor: U = I (rounding)
  bool permuted = false;            // made with an activation order
  double dampening_frac = 0.0;      // the options it was made with (Solve checks them)
  bool solve_in_f64 = true;
  uint64_t bytes() const { return (m.size() + u_diag.size()) * sizeof(float) + perm.size() * 8 + dead.size(); }
};

struct Result {
  int64_t rows = 0, cols = 0, groups = 0;
  int64_t group_size = 0;      // columns per group (cols for per-channel)
  std::vector<uint8_t> codes;  // [rows, cols] unsigned 0 .. 2^bits-1, original column order
  std::vector<float> scale;    // [rows, groups]
  std::vector<float> zero;     // [rows, groups], unsigned-code zero point (2^(bits-1) when symmetric)
  std::vector<int32_t> g_idx;  // [cols] group of each original column
  std::vector<int64_t> perm;   // [cols] processing order (perm[k] = original column); empty without actorder
  std::vector<float> wq;       // [rows, cols] dequantized weight, scale[g] * (code - zero[g])
  double loss = 0.0;           // sum (w - q)^2 / U[c][c]^2 / 2, the reference's printed "error"
  int64_t dead_columns = 0;    // diag(H) == 0
  bool cholesky_failed = false;  // kLlmCompressor falls back to U = I (rounding) and reports it here
  bool g_idx_needed() const;   // whether g_idx differs from c / group_size (stored as weight_g_idx)
};

// w: [rows, cols] row-major float32 (nn.Linear layout [out, in]); h: [cols, cols] symmetric float32 as
// accumulated (before the dead-column fix and damping). Throws qforge::Error for invalid options; in the
// kReference convention also when H (dampened) is not positive definite, like the reference.
Result Quantize(const float* w, const float* h, int64_t rows, int64_t cols, const Options& options);

// h: [cols, cols] as for Quantize, moved in (its buffer becomes Factorization::m: no copy of H is made; the
// float64 Cholesky needs a [cols, cols] float64 work array while it runs). Uses options.actorder,
// dampening_frac, solve_in_f64 and convention (kReference throws when H is not positive definite).
Factorization Factorize(std::vector<float> h, int64_t cols, const Options& options);
// w: [rows, f.cols]; `options` must have the actorder / dampening / solve precision `f` was made with.
Result Solve(const float* w, int64_t rows, const Factorization& f, const Options& options);
// tr(D H D^T) for D [rows, f.cols] row-major, with the H stored in f (e.g. the output error of W - Wq).
double HessianQuadForm(const Factorization& f, const float* d, int64_t rows);

// Which qparam rule a convention uses.
QParamRule RuleFor(Convention c);
// Number of groups of a row of `cols` columns.
int64_t NumGroups(int64_t cols, int64_t group_size);

}  // namespace qforge::algorithms::gptq
