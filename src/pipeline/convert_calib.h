// `qforge convert --calib FILE`: an importance matrix collected by our own forward pass, with llama-imatrix's
// definition: for every Linear of every decoder layer (GGUF blk.N.{attn_q,attn_k,attn_v,attn_output,ffn_gate,
// ffn_up,ffn_down}.weight), sum2[j] = Σ over calibration tokens of x_j², count = tokens, importance =
// sum2 / count, where x is the Linear's input. As with llama-imatrix's default, output.weight is not
// collected. Calibration samples: calib::LoadCalibData (token windows of seq_len, BOS first when the
// tokenizer adds it, shuffled with the seed).
#pragma once

#include <string>

#include "calib/calib_data.h"
#include "pipeline/convert_imatrix.h"

namespace qforge::pipeline {

// Opens `model_path` (HF directory or GGUF file, pipeline::LoadModel) and runs every sample through it,
// one layer at a time. Throws qforge::Error for an unreadable model or calibration file.
ImatrixStats CollectImatrix(const std::string& model_path, const calib::CalibDataOptions& data);

}  // namespace qforge::pipeline
