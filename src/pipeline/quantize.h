// `qforge quantize`: HF checkpoint + recipe -> compressed-tensors directory, streaming tensor by tensor.
//   1. plan: which Linear gets which scheme (targets / ignore, FORMATS.md §2.10); embeddings and norms are
//      never quantized; vLLM's fused q/k/v and gate/up layers must agree; group sizes must divide widths
//   2. choose the per-Linear quantizer from the recipe's modifier (QuantizationModifier -> RTN; GPTQModifier
//      and SmoothQuantModifier run the calibration first, pipeline/quantize_calibrated.h)
//   3. export (export/compressed_tensors_export.h)
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "algorithms/linear_quantizer.h"
#include "calib/calib_data.h"
#include "export/compressed_tensors_export.h"
#include "hf/checkpoint.h"
#include "recipe/recipe.h"

namespace qforge::pipeline {

struct QuantizeOptions {
  std::string model_dir;
  std::string out_dir;
  recipe::Recipe recipe;
  std::string format = "compressed-tensors";
  bool overwrite = false;
  uint64_t max_shard_bytes = 0;  // 0 = default (5 GB)
  bool progress = true;
  // GPTQModifier / SmoothQuantModifier: calibration text (path required) and window options.
  calib::CalibDataOptions calib;
  std::function<void(const std::string&)> log;  // calibration lines (per-Linear error); null = stderr
};

struct QuantizeReport {
  exporter::CtExportStats stats;
  int64_t linears_ignored = 0;
  std::string quantizer;
  double seconds = 0;
  std::string out_dir;
  // Calibrated runs: the per-Linear report written as out_dir/qforge_calibration.json, and its totals.
  std::string calibration_report;
  int64_t calib_samples = 0, calib_tokens = 0, gptq_linears = 0, smoothquant_folded = 0;
  double calibration_seconds = 0;
};

// Which Linear gets which scheme; throws qforge::Error for contradictions (naming the tensor).
exporter::CtExportPlan PlanQuantization(const hf::Checkpoint& ckpt, const recipe::Modifier& modifier);

// The per-Linear quantizer for a recipe without calibration (RTN); throws for GPTQ / SmoothQuant recipes,
// which QuantizeModel calibrates (RunCalibration).
std::unique_ptr<algorithms::LinearQuantizer> MakeQuantizer(const recipe::Recipe& recipe, const hf::Checkpoint& ckpt);

QuantizeReport QuantizeModel(const QuantizeOptions& opts);

// The end-of-run summary: tensors quantized/ignored, size before/after, bits per weight.
std::string FormatQuantizeReport(const QuantizeReport& r);

}  // namespace qforge::pipeline
