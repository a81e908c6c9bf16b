// `qforge convert IN -o OUT.gguf --type Q4_K_M [--imatrix FILE | --calib TEXT [--imatrix-out F]] [--name NAME]
// [--pure] [--output-tensor-type T]
// [--token-embedding-type T]`: HF directory, GGUF file or
// compressed-tensors directory → llama.cpp GGUF (pipeline/convert.h).
#include <fmt/format.h>

#include <memory>

#include "command.h"
#include "pipeline/convert.h"

namespace qforge::cli {
namespace {

std::function<int()> SetupConvert(CLI::App& app) {
  auto o = std::make_shared<pipeline::ConvertOptions>();
  app.add_option("input", o->input, "HF model directory, GGUF file or compressed-tensors directory")->required();
  app.add_option("-o,--output", o->output, "Output .gguf file (written atomically)")->required();
  app.add_option("--type,-t", o->type,
                 "F32, F16, BF16 (plain conversion) or a llama-quantize mix: Q8_0, Q6_K, Q5_K_M, Q5_K_S, Q4_K_M, "
                 "Q4_K_S, Q4_0, Q3_K_M")
      ->capture_default_str();
  app.add_option("--imatrix", o->imatrix, "llama.cpp importance matrix (imatrix.gguf or legacy .dat)");
  app.add_option("--calib", o->calib,
                 "Calibration text (.txt, or .jsonl with \"text\" fields): compute the importance matrix "
                 "(mean x² per input column of each Linear, as llama-imatrix) instead of reading one");
  app.add_option("--calib-samples", o->calib_samples, "--calib: number of token windows")->capture_default_str();
  app.add_option("--calib-seq-len", o->calib_seq_len, "--calib: tokens per window")->capture_default_str();
  app.add_option("--calib-seed", o->calib_seed, "--calib: window shuffle seed")->capture_default_str();
  app.add_option("--imatrix-out", o->imatrix_out,
                 "--calib: also save the importance matrix (llama-imatrix GGUF form, usable with --imatrix)");
  app.add_option("--name", o->name, "general.name (default: the input's name)");
  app.add_flag("--pure", o->pure, "Mixes: give every quantized tensor the mix's default type (llama-quantize --pure)");
  app.add_option("--output-tensor-type", o->output_tensor_type, "Mixes: type of output.weight (e.g. Q8_0, F16)");
  app.add_option("--token-embedding-type", o->token_embedding_type, "Mixes: type of token_embd.weight");
  return [o] {
    const pipeline::ConvertReport r = pipeline::Convert(*o);
    for (const auto& note : r.notes) fmt::print(stderr, "qforge: {}\n", note);
    fmt::print("{}: {} tensors ({} quantized, {} copied unchanged, {} with imatrix), file_type {}, {:.2f} MiB "
               "(from {} input)\n",
               o->output, r.tensors, r.quantized, r.copied, r.imatrix_used, r.file_type,
               static_cast<double>(r.bytes) / (1 << 20), r.input_format);
    return 0;
  };
}

}  // namespace
QFORGE_COMMAND(convert, "convert", 30, "Convert a model to a llama.cpp GGUF file (F32/F16/BF16 or a k-quant mix)",
               SetupConvert);
}  // namespace qforge::cli
