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
// Peak memory: the activations (samples x tokens x hidden, F32 or BF16) + one stage's Hessians (each
// factored in its own buffer, plus a float64 [in, in] work array while the Cholesky runs) + one Linear's
// GPTQ work arrays + the current layer's dequantized Linears + the 1-byte codes kept for the writer.
// Mapped weights are released after every forward pass (release_mapped_pages). Progress per layer with ETA
// (qforge::Progress).
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
  // q/k/v (and gate/up) read the same input: factor its Hessian once (dead columns, activation order,
  // dampening, U = chol(H^-1)^T) and solve each weight against it. Bit-identical to factoring per Linear.
  bool share_factorization = true;
  // Round GPTQ's dequantized values to the model dtype inside the loop, as llm-compressor does (bf16/f16).
  bool round_to_model_dtype = true;
  // After each forward pass, drop the process's resident pages of memory-mapped checkpoint files
  // (io::ReleaseAllMappedPages): the weights a finished stage or layer read stop counting in RSS, and the
  // ones still needed come back from the page cache on their next use.
  bool release_mapped_pages = true;
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
  double solve_seconds = 0.0;     // GPTQ math (all Linears, factorisations included)
  double factor_seconds = 0.0;    // of which Hessian factorisations (Factorize)
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
