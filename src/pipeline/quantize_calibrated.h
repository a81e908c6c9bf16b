// Calibrated `qforge quantize` (GPTQModifier and/or SmoothQuantModifier in the recipe):
//
//   calib::LoadCalibData(--calib FILE, tokenizer of the model)  ->  token windows
//   pipeline::Calibrate(model built from the checkpoint, windows, options from the recipe)
//       SmoothQuant: norms and q/k/v, gate/up folded (CalibrationResult::folded)
//       GPTQ: codes, scales, zero points (+ g_idx for actorder group) of every targeted decoder Linear
//   the writer then reads every tensor through FoldedSource (so folded norms are saved) and takes each
//   Linear's codes from the calibration (GPTQ) or rounds the folded weight (RTN after SmoothQuant).
//
// Options from the recipe: GPTQModifier block_size (128), dampening_frac (0.01), actorder (static =
// "weight", llm-compressor's default; "group" stores weight_g_idx); SmoothQuantModifier smoothing_strength
// (0.5) and mappings (only Llama's two: [q,k,v] <- input_layernorm, [gate,up] <- post_attention_layernorm).
// Targeted Linears outside the decoder layers (lm_head when not ignored) are rounded to nearest.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "algorithms/linear_quantizer.h"
#include "calib/calib_data.h"
#include "core/tensor_source.h"
#include "export/compressed_tensors_export.h"
#include "hf/checkpoint.h"
#include "pipeline/calibrate.h"
#include "recipe/recipe.h"

namespace qforge::pipeline {

inline constexpr char kCalibrationReportFile[] = "qforge_calibration.json";

// Whether the recipe needs calibration data (a GPTQModifier or a SmoothQuantModifier).
bool NeedsCalibration(const recipe::Recipe& r);

// The weight actorder GPTQ applies to `weights` under `gptq` (the modifier's actorder overrides the scheme's;
// default "weight" = static). Throws qforge::Error for "group" without group strategy.
std::string EffectiveActorder(const recipe::Modifier& gptq, const recipe::QuantArgs& weights);

// Calibration options for the recipe and plan; throws qforge::Error for what the pipeline cannot do
// (different GPTQ weight schemes per config group, SmoothQuant mappings other than Llama's).
CalibrateOptions CalibrateOptionsFor(const recipe::Recipe& r, const exporter::CtExportPlan& plan);

struct CalibratedQuantization {
  CalibrateOptions options;
  CalibrationResult result;
  calib::CalibData data_stats;  // samples cleared after calibration; counts kept
  std::unique_ptr<TensorSource> source;                     // the checkpoint with folded tensors
  std::unique_ptr<algorithms::LinearQuantizer> quantizer;   // "gptq" or "rtn" (SmoothQuant only)
  std::string report_json;                                  // CalibrationReportJson
};

// Runs the calibration for `r` on `ckpt` (which must outlive the result). `log`: per-Linear lines (null =
// stderr). Throws qforge::Error when `data.path` is empty, saying what to pass.
std::unique_ptr<CalibratedQuantization> RunCalibration(const hf::Checkpoint& ckpt, const recipe::Recipe& r,
                                                       const exporter::CtExportPlan& plan,
                                                       const calib::CalibDataOptions& data,
                                                       std::function<void(const std::string&)> log);

}  // namespace qforge::pipeline
