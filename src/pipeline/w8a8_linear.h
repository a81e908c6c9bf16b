// W8A8 INT8 Linear as vLLM runs it (FORMATS.md §4.6): int8 weights with one scale per output channel, and
// activations quantized per token, dynamically and symmetrically, right before the product:
//   s_t = absmax_t / 127;  qx = sat_int8(rne(x * (127 / absmax_t)));  y[t][o] = s_t * s_w[o] * sum_j qx[j] qw[o][j]
// (integer accumulation in int32). A token of all zeros gives y = 0. So an evaluation of a W8A8 model
// reflects int8 activations, not just int8 weights.
#pragma once

#include <memory>

#include "codecs/int/int_quant.h"
#include "model/linear.h"

namespace qforge::pipeline {

// `q`: symmetric 8-bit, channel strategy (QF_CHECKed; validate schemes before).
std::unique_ptr<model::LinearWeight> MakeW8A8Linear(std::shared_ptr<const codecs::QuantizedMatrix> q);

// Per-token dynamic int8 quantization of one row of n values: returns s_t and writes the codes.
float QuantizeActivationRow(const float* x, int64_t n, int8_t* q);

}  // namespace qforge::pipeline
