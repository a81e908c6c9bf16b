// Quantized matrix products on CPU: the weight stays in its stored integer form and is decoded in vector
// registers (no float copy of the matrix). All compute y[n, m] = x[n, k] · Ŵ[m, k]ᵀ with row-major x and y.
//
// Weight layouts (rows = output channels):
//   W4A16  packed int4, the compressed-tensors `pack-quantized` layout for 4 bits (FORMATS.md §2.8):
//          words uint32 [m, k/8]; element i of a row is nibble (i % 8) of word i / 8, LSB first;
//          code = nibble − 8 ∈ [−8, 7];  Ŵ[r, i] = scales[r, i / group] · code.   scales: float [m, k/group].
//   W8A16  codes int8 [m, k];  Ŵ[r, i] = scales[r, i / group] · code  (group = k: one scale per channel).
//   W8A8   codes int8 [m, k] with one scale per channel; the activation is quantized per token,
//          dynamically and symmetrically (vLLM / compressed-tensors W8A8):
//            s_t = absmax_t / 127;  a = clamp(rne(x · (127 / absmax_t)), −128, 127)  (a token of zeros: s_t = 0)
//            y[t, r] = (s_t · s_w[r]) · Σ_i a[t, i] · w[r, i]     (int32 accumulation, exact)
//
// Dispatch: every entry point splits output rows over ThreadPool::Global() and calls one Highway
// kernel (HWY_DYNAMIC_DISPATCH) per tile. Target intrinsics where Highway 1.0.3 has no op:
//   W4A16 on AVX3/AVX3_DL  nibbles looked up in a per-(row, group) table of s · code with vpermps;
//   int8 dot product       AVX-512 VNNI vpdpbusd on HWY_AVX3_DL (from 16 tokens on: 32-row × 8-token
//                          register tiles over weight rows repacked per thread into the VNNI layout),
//                          maddubs on AVX2/AVX3/SSSE3/SSE4, plain C elsewhere.
// Every kernel has a scalar twin in ref/quant_ref.h (the test oracle).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qforge::kernels {

// Largest k for which the W8A8 int32 accumulator cannot overflow: |a| ≤ 128 after the +128 bias of the
// VNNI path (u8 ≤ 255) and |w| ≤ 128, so k · 255 · 128 < 2^31.
inline constexpr int64_t kMaxW8A8K = 65536;

// W4A16. Requires k % 8 == 0 and group % 8 == 0 and k % group == 0 (QF_CHECKed; callers validate input).
void MatMulW4A16(const float* x, int64_t n, int64_t k, const uint32_t* packed, const float* scales, int64_t group,
                 int64_t m, float* y);

// W8A16. Requires k % group == 0.
void MatMulW8A16(const float* x, int64_t n, int64_t k, const int8_t* w, const float* scales, int64_t group,
                 int64_t m, float* y);

// Per-token dynamic int8 quantization of one row (formula above); returns s_t.
float QuantizeActivationI8(const float* x, int64_t k, int8_t* q);

// Σ_i w[r, i] for each row (what the VNNI path subtracts after biasing the activation by +128).
std::vector<int32_t> Int8RowSums(const int8_t* w, int64_t m, int64_t k);

// W8A8 from float activations. row_sums = Int8RowSums(w) (precomputed once per weight). k ≤ kMaxW8A8K.
void MatMulW8A8(const float* x, int64_t n, int64_t k, const int8_t* w, const float* w_scales,
                const int32_t* row_sums, int64_t m, float* y);

// The integer core: acc[t, r] = Σ_i a[t, i] · w[r, i] for already quantized activations a [n, k] in
// [−127, 127] (what QuantizeActivationI8 yields; the maddubs path needs |a| ≤ 127).
void GemmI8(const int8_t* a, int64_t n, int64_t k, const int8_t* w, const int32_t* row_sums, int64_t m,
            int32_t* acc);

// The Highway target that the dispatched kernels run on now (e.g. "AVX3_DL"), and every target compiled
// into these kernels that this CPU supports (tests run each).
std::string QuantKernelTarget();
std::vector<int64_t> QuantKernelTargets();

// Register-resident peak loops for the machine-limit measurement (qforge bench): `iters` iterations of an
// unrolled block on one thread; return the number of operations done (multiply and add count as two).
// Int8: the same instruction the W8A8 kernel uses (vpdpbusd, or maddubs + madd). F32: vector FMA.
double Int8PeakLoop(int64_t iters);
// Σ p[i] over a buffer (the streaming read of the bandwidth measurement).
float StreamSum(const float* p, int64_t n);
double F32FmaPeakLoop(int64_t iters);

}  // namespace qforge::kernels
