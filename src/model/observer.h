// Hooks for calibration: a LinearObserver sees the input and output of every Linear of a decoder layer
// as the layer runs (GPTQ accumulates XᵀX of x, SmoothQuant the per-channel absmax of x, imatrix the mean
// x² per input channel). q/k/v see the same x, as do gate/up.
#pragma once

#include <cstdint>
#include <string_view>

namespace qforge::model {

enum class LinearKind : uint8_t { kQ, kK, kV, kO, kGate, kUp, kDown };
inline constexpr int kNumLinearKinds = 7;

// HF module name within the layer: "self_attn.q_proj", ..., "mlp.down_proj".
std::string_view LinearModuleName(LinearKind kind);

class LinearObserver {
 public:
  virtual ~LinearObserver() = default;
  // x: [n_tokens, in_features] input; y: [n_tokens, out_features] output (bias included). Both are only
  // valid during the call. Called on the thread that runs the layer.
  virtual void OnLinear(int layer, LinearKind kind, const float* x, const float* y, int64_t n_tokens,
                        int64_t in_features, int64_t out_features) = 0;
};

}  // namespace qforge::model
