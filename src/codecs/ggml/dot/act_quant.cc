#include "codecs/ggml/dot/act_quant.h"

#include <cmath>
#include <cstring>

#include "codecs/ggml/fp_strict.h"
#include "codecs/ggml/quant_math.h"
#include "core/error.h"

namespace qforge::codecs::ggml {
namespace {

// Q8_0 and Q8_1 share the block quantization; returns d and writes Σq through `sum`.
float QuantizeQ8Block(const float* x, int8_t* q, int32_t* sum) {
  float amax = 0.0f;
  for (int j = 0; j < kActQ8Block; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  int32_t s = 0;
  for (int j = 0; j < kActQ8Block; ++j) {
    q[j] = static_cast<int8_t>(std::nearbyint(x[j] * id));  // |x·id| ≤ 127 (+ rounding): no clamp needed
    s += q[j];
  }
  *sum = s;
  return d;
}

void QuantizeQ8K(const float* x, BlockQ8_KAct* y) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < kActQ8KBlock; ++j) {
    const float ax = std::fabs(x[j]);
    if (ax > amax) {
      amax = ax;
      max = x[j];
    }
  }
  if (amax == 0.0f) {
    y->d = 0.0f;
    std::memset(y->qs, 0, sizeof y->qs);
    std::memset(y->bsums, 0, sizeof y->bsums);
    return;
  }
  const float iscale = -127.0f / max;
  for (int j = 0; j < kActQ8KBlock; ++j) y->qs[j] = static_cast<int8_t>(std::min(127, NearestInt(iscale * x[j])));
  for (int g = 0; g < kActQ8KBlock / 16; ++g) {
    int s = 0;
    for (int j = 0; j < 16; ++j) s += y->qs[16 * g + j];
    y->bsums[g] = static_cast<int16_t>(s);
  }
  y->d = 1.0f / iscale;
}

}  // namespace

ActFormat ActFormatFor(DType t) {
  switch (t) {  // keep in step with HasActFormat
    case DType::kQ8_0:
    case DType::kQ4_0:
    case DType::kQ5_0: return ActFormat::kQ8_0;
    case DType::kQ4_1:
    case DType::kQ5_1: return ActFormat::kQ8_1;
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K: return ActFormat::kQ8_K;
    default: Fail("no integer dot product for weight type {} (expected a GGUF block type Q*_0/_1/_K)", Name(t));
  }
}

bool HasActFormat(DType t) {
  switch (t) {
    case DType::kQ8_0: case DType::kQ4_0: case DType::kQ5_0: case DType::kQ4_1: case DType::kQ5_1:
    case DType::kQ2_K: case DType::kQ3_K: case DType::kQ4_K: case DType::kQ5_K: case DType::kQ6_K: return true;
    default: return false;
  }
}

int64_t ActBlockSize(ActFormat f) { return f == ActFormat::kQ8_K ? kActQ8KBlock : kActQ8Block; }

size_t ActRowBytes(ActFormat f, int64_t k) {
  QF_CHECK(k >= 0 && k % ActBlockSize(f) == 0);
  const auto blocks = static_cast<size_t>(k / ActBlockSize(f));
  switch (f) {
    case ActFormat::kQ8_0: return blocks * 34;
    case ActFormat::kQ8_1: return blocks * sizeof(BlockQ8_1Act);
    case ActFormat::kQ8_K: return blocks * sizeof(BlockQ8_KAct);
  }
  return 0;
}

void QuantizeActRow(ActFormat f, const float* x, int64_t k, void* dst) {
  QF_CHECK(k % ActBlockSize(f) == 0);
  auto* out = static_cast<uint8_t*>(dst);
  const int64_t nb = k / ActBlockSize(f);
  for (int64_t b = 0; b < nb; ++b) {
    switch (f) {
      case ActFormat::kQ8_0: {
        uint8_t* blk = out + b * 34;
        int32_t sum = 0;
        int8_t q[kActQ8Block];
        const uint16_t d = ToHalf(QuantizeQ8Block(x + b * kActQ8Block, q, &sum));
        blk[0] = static_cast<uint8_t>(d & 0xff);
        blk[1] = static_cast<uint8_t>(d >> 8);
        std::memcpy(blk + 2, q, kActQ8Block);
        break;
      }
      case ActFormat::kQ8_1: {
        BlockQ8_1Act blk;
        int32_t sum = 0;
        const float d = QuantizeQ8Block(x + b * kActQ8Block, blk.qs, &sum);
        blk.d = ToHalf(d);
        blk.s = ToHalf(d * static_cast<float>(sum));
        std::memcpy(out + b * sizeof blk, &blk, sizeof blk);
        break;
      }
      case ActFormat::kQ8_K: {
        QF_CHECK(reinterpret_cast<uintptr_t>(dst) % alignof(BlockQ8_KAct) == 0);
        QuantizeQ8K(x + b * kActQ8KBlock, reinterpret_cast<BlockQ8_KAct*>(out) + b);
        break;
      }
    }
  }
}

void DequantizeActRow(ActFormat f, const void* src, int64_t k, float* y) {
  QF_CHECK(k % ActBlockSize(f) == 0);
  const auto* in = static_cast<const uint8_t*>(src);
  const int64_t bs = ActBlockSize(f), nb = k / bs;
  for (int64_t b = 0; b < nb; ++b) {
    float d = 0;
    const int8_t* q = nullptr;
    switch (f) {
      case ActFormat::kQ8_0:
        d = FromHalf(static_cast<uint16_t>(in[b * 34] | (in[b * 34 + 1] << 8)));
        q = reinterpret_cast<const int8_t*>(in + b * 34 + 2);
        break;
      case ActFormat::kQ8_1: {
        const auto* blk = reinterpret_cast<const BlockQ8_1Act*>(in) + b;
        d = FromHalf(blk->d);
        q = blk->qs;
        break;
      }
      case ActFormat::kQ8_K: {
        const auto* blk = reinterpret_cast<const BlockQ8_KAct*>(in) + b;
        d = blk->d;
        q = blk->qs;
        break;
      }
    }
    for (int64_t j = 0; j < bs; ++j) y[b * bs + j] = d * static_cast<float>(q[j]);
  }
}

}  // namespace qforge::codecs::ggml
