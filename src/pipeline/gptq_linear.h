// Adapter between a model Linear and the pure GPTQ math (algorithms/gptq): takes the Linear's weight and the
// Hessian of its inputs, returns compressed-tensors-convention codes (signed int8), scales and zero points
// (codecs::QuantizedMatrix, what the compressed-tensors writer stores), plus weight_g_idx when needed and
// the per-Linear error figures for the log and the JSON report.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/gptq/gptq_math.h"
#include "codecs/int/int_quant.h"
#include "model/linear.h"

namespace qforge::pipeline {

struct GptqLinearResult {
  std::shared_ptr<const codecs::QuantizedMatrix> matrix;  // codes, scales (params.dtype), zero points
  std::vector<int32_t> g_idx;  // [in] group per column; empty unless actorder=group (weight_g_idx)
  double loss = 0.0;           // GPTQ's own objective (the reference's "error")
  // Relative output error on the calibration inputs, tr(D H D^T) / tr(W H W^T) with D = W - Wq
  // (= ||(W - Wq) X^T||^2 / ||W X^T||^2 for H = 2/N X^T X), for GPTQ and for RTN with the same scheme.
  double rel_err = 0.0, rtn_rel_err = 0.0;
  int64_t dead_columns = 0;
  bool cholesky_failed = false;
  double seconds = 0.0;
};

// `f`: the factorisation of the Hessian of the Linear's inputs (gptq::Factorize), which Linears reading the
// same input share. `options` supplies actorder, dampening, block size and convention (they must be the
// ones `f` was made with); bits / symmetric / group size come from `spec` (group or channel strategy).
// With `round_to_model_dtype` (default) and llm-compressor's natural groups, each dequantized value in the
// GPTQ loop is rounded to the model dtype (BF16/F16) as llm-compressor does (gptq::Options::dequant_round).
// Throws qforge::Error naming `name` for a scheme GPTQ cannot apply (tensor strategy).
GptqLinearResult QuantizeLinearGptq(const model::LinearWeight& w, const algorithms::gptq::Factorization& f,
                                    const codecs::IntQuantSpec& spec, const algorithms::gptq::Options& options,
                                    const std::string& name, bool round_to_model_dtype = true);
// The same for the weight given as a float32 [out, in] tensor `w` whose stored type is `dtype` (the caller
// may drop its own copy of the weight first, e.g. release mapped pages).
GptqLinearResult QuantizeLinearGptq(const Tensor& w, DType dtype, const algorithms::gptq::Factorization& f,
                                    const codecs::IntQuantSpec& spec, const algorithms::gptq::Options& options,
                                    const std::string& name, bool round_to_model_dtype = true);
// The same from the Hessian `h` ([in, in] float32 from HessianAccumulator::Finalize), factored here.
GptqLinearResult QuantizeLinearGptq(const model::LinearWeight& w, const std::vector<float>& h,
                                    const codecs::IntQuantSpec& spec, const algorithms::gptq::Options& options,
                                    const std::string& name, bool round_to_model_dtype = true);

// Dequantized weight [rows, cols] as float32, each value rounded to params.dtype like compressed-tensors'
// decompression; `g_idx` (may be empty) maps columns to groups.
std::vector<float> DequantizeToF32(const codecs::QuantizedMatrix& q, const std::vector<int32_t>& g_idx);

// A LinearWeight over quantized codes (1 byte per weight): what a finished layer keeps during calibration.
// Apply() dequantizes into a temporary on every call (correct, not fast).
std::unique_ptr<model::LinearWeight> MakeCodesLinear(std::shared_ptr<const codecs::QuantizedMatrix> q,
                                                     std::vector<int32_t> g_idx);

// A dense LinearWeight holding `values` [rows, cols] rounded to `dtype` (F32, BF16 or F16).
std::unique_ptr<model::LinearWeight> MakeRoundedDenseLinear(const std::vector<float>& values, int64_t rows,
                                                            int64_t cols, DType dtype, const std::string& name);

}  // namespace qforge::pipeline
