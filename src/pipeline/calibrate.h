// The sequential calibration pipeline (llm-compressor's "sequential" idea, FORMATS.md §3.6):
//
//   embed every calibration sample; for each decoder layer L:
//     [SmoothQuant] run L observing the norm outputs (inputs of q and gate); fold s into input_layernorm and
//                   q/k/v, post_attention_layernorm and gate/up (weights rounded to the model dtype)
//     [GPTQ]        stages {q,k,v} -> {o} -> {gate,up} -> {down} (true_sequential; otherwise one stage):
//                   run L accumulating the Hessian of each stage's input, quantize the stage's Linears and put
//                   the dequantized weights in the model, so later stages see quantized upstream outputs
//     run L again with the quantized weights: its outputs are layer L+1's inputs (errors propagate)
//     replace L's Linears by 1-byte-per-weight code views; free L's statistics
//
// Peak memory: the activations (samples x tokens x hidden, F32 or BF16) + one stage's Hessians + one Linear's
// GPTQ work arrays + the codes kept for the writer. Progress per layer with ETA (qforge::Progress).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "algorithms/gptq/gptq_math.h"
#include "algorithms/gptq/hessian.h"
#include "codecs/int/int_quant.h"
#include "core/tensor.h"
#include "core/tensor_source.h"
#include "model/model.h"
#include "pipeline/gptq_linear.h"

namespace qforge::pipeline {

struct CalibrateOptions {
  std::optional<double> smoothquant_strength;       // SmoothQuant with this alpha when set
  std::optional<codecs::IntQuantSpec> gptq_spec;    // GPTQ with this weight scheme when set
  algorithms::gptq::Options gptq;                   // actorder, dampening_frac, block_size, convention
  algorithms::gptq::HessianPrecision hessian_precision = algorithms::gptq::HessianPrecision::kF32;
  bool true_sequential = true;   // q/k/v -> o -> gate/up -> down inside a layer
  bool bf16_activations = false; // hold the calibration activations in BF16 (half the memory)
  // Which Linears GPTQ quantizes, by module name ("model.layers.0.mlp.down_proj"); null = all of them.
  std::function<bool(const std::string&)> is_target;
  std::function<void(const std::string&)> log;  // per-Linear lines; null = stderr
};

struct CalibratedLinear {
  std::string name;  // module name, "model.layers.0.self_attn.q_proj"
  int layer = 0;
  model::LinearKind kind = model::LinearKind::kQ;
  GptqLinearResult gptq;
  int64_t hessian_samples = 0;
};

struct CalibrationResult {
  std::vector<CalibratedLinear> linears;  // GPTQ-quantized Linears, in layer / dependency order
  // SmoothQuant-modified tensors by HF tensor name ("...input_layernorm.weight", "...q_proj.weight"), in the
  // model dtype. Linears that GPTQ quantized afterwards are not listed (their codes supersede them).
  std::map<std::string, Tensor> folded;
  int64_t samples = 0, tokens = 0;
  double hessian_seconds = 0.0;   // forward passes with observers + accumulation
  double solve_seconds = 0.0;     // GPTQ math (all Linears)
  double smooth_seconds = 0.0;
  double total_seconds = 0.0;
  uint64_t activation_bytes = 0;  // held calibration activations
  uint64_t peak_hessian_bytes = 0;

  const CalibratedLinear* Find(const std::string& module_name) const;
};

// Runs the pipeline on `model` in place. `samples` are token sequences (calib::LoadCalibData). Throws
// qforge::Error when neither SmoothQuant nor GPTQ is requested, or for an empty sample set.
CalibrationResult Calibrate(model::Model& model, const std::vector<std::vector<int32_t>>& samples,
                            const CalibrateOptions& options);

// The JSON report written beside the quantized model (per-Linear GPTQ error, timings, options).
std::string CalibrationReportJson(const CalibrationResult& result, const CalibrateOptions& options);

// `base` with the tensors of `folded` replacing theirs (what a writer reads after SmoothQuant). `base` and
// `folded` must outlive the returned source.
std::unique_ptr<TensorSource> FoldedSource(const TensorSource& base, const std::map<std::string, Tensor>& folded);

}  // namespace qforge::pipeline
