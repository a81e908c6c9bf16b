// GPTQ math against the IST-DASLab reference outputs in ../shared/golden/gptq (see its README.md, "What a
// C++ test should assert"). Every case runs our kReference convention on the file's W and H.
#include <cblas.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <tuple>

#include "algorithms/gptq/gptq_math.h"
#include "algorithms/gptq/golden_file_test_util.h"
#include "algorithms/gptq/hessian.h"

namespace qforge::algorithms::gptq {
namespace {

using testing::GoldenFile;
using testing::LoadGolden;

// Acceptance (issue 5): >= 99.9% identical codes given the same H. The float32 port is expected to be exact
// (README: an independent float32 port matched all cases with 0 differing codes); the slack only admits a
// tie-near flip from a different BLAS summation order in the lazy block update.
constexpr double kMinCodeAgreement = 0.999;
// Acceptance: scales within 1e-5 relative. Per-channel and static-group scales depend only on W and must be
// bit-identical; dynamic-group scales see the lazily updated W, where a different sgemm summation order
// moves the last bits (README measured <= 4.5e-7 for a float64 port).
constexpr double kMaxScaleRelDiff = 1e-5;
// README item 7: the reported loss within 0.1% of reference_error, output error within 0.5%.
constexpr double kLossRelTol = 1e-3;
constexpr double kOutErrRelTol = 5e-3;

std::string GoldenDir() { return std::string(QFORGE_SHARED_DIR) + "/golden/gptq/"; }

Options OptionsFrom(const GoldenFile& f) {
  Options o;
  o.convention = Convention::kReference;
  o.bits = std::stoi(f.meta("wbits"));
  o.group_size = std::stoll(f.meta("groupsize"));
  o.symmetric = f.meta("sym") == "true";
  o.dampening_frac = std::stod(f.meta("percdamp"));
  o.block_size = std::stoll(f.meta("blocksize"));
  const bool actorder = f.meta("actorder") == "true", stat = f.meta("static_groups") == "true";
  o.actorder = actorder ? (stat ? ActOrder::kStatic : ActOrder::kGroup) : ActOrder::kNone;
  o.static_groups = stat && !actorder;
  return o;
}

// ||(W - Wq) X^T||_F / ||W X^T||_F in float64.
double OutRelErr(const std::vector<float>& w, const std::vector<float>& wq, const std::vector<float>& x,
                 int64_t rows, int64_t cols, int64_t tokens) {
  std::vector<double> d(w.size()), w64(w.begin(), w.end()), x64(x.begin(), x.end());
  for (size_t i = 0; i < w.size(); ++i) d[i] = static_cast<double>(w[i]) - static_cast<double>(wq[i]);
  std::vector<double> y(static_cast<size_t>(rows * tokens));
  auto fro = [&](const std::vector<double>& a) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(tokens),
                static_cast<int>(cols), 1.0, a.data(), static_cast<int>(cols), x64.data(), static_cast<int>(cols),
                0.0, y.data(), static_cast<int>(tokens));
    double s = 0;
    for (double v : y) s += v * v;
    return std::sqrt(s);
  };
  return fro(d) / fro(w64);
}

// README item 3's tolerant fallback: >= 90% of rows fully identical.
constexpr double kMinRowAgreement = 0.90;

// Runs every case twice: with the Cholesky/inverse in float64 (the default; measured 0 differing codes on
// all 11 cases) and in float32 like the reference (LAPACK blocking differs from torch's: a few codes of one
// row flip on w4_sym_g128).
class GptqGolden : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(GptqGolden, MatchesReference) {
  const std::string name = std::get<0>(GetParam());
  const GoldenFile f = LoadGolden(GoldenDir() + name + ".safetensors");
  Options o = OptionsFrom(f);
  o.solve_in_f64 = std::get<1>(GetParam());
  const auto& wt = f.at("W");
  const int64_t rows = wt.shape[0], cols = wt.shape[1];
  const std::vector<float> w = f.F32("W"), h = f.F32("H");
  const int64_t groups = f.at("scale").shape[1];
  const int64_t gs = o.group_size == -1 ? cols : o.group_size;

  // 1. RTN baseline, elementwise: bit-identical codes, scales, zeros and dequantized weights.
  {
    const auto& codes_rtn = f.at("codes_rtn").values;
    const auto& scale_rtn = f.at("scale_rtn").values;
    const auto& zero_rtn = f.at("zero_rtn").values;
    const auto& wq_rtn = f.at("Wq_rtn").values;
    int64_t bad = 0;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t g = 0; g < groups; ++g) {
        const int64_t c0 = g * gs, n = std::min(gs, cols - c0);
        const QParams p = ComputeQParams(&w[r * cols + c0], n, 1, o.bits, o.symmetric, QParamRule::kReference);
        const size_t gi = static_cast<size_t>(r * groups + g);
        ASSERT_EQ(p.scale, static_cast<float>(scale_rtn[gi])) << "row " << r << " group " << g;
        ASSERT_EQ(p.zero, static_cast<float>(zero_rtn[gi])) << "row " << r << " group " << g;
        for (int64_t c = c0; c < c0 + n; ++c) {
          const size_t i = static_cast<size_t>(r * cols + c);
          const int32_t code = QuantizeCode(w[i], p, o.bits, QParamRule::kReference);
          bad += code != static_cast<int32_t>(codes_rtn[i]) || Dequantize(code, p) != static_cast<float>(wq_rtn[i]);
        }
      }
    }
    EXPECT_EQ(bad, 0) << "RTN codes/Wq differing";
  }

  // 2. GPTQ on the same H.
  const Result res = Quantize(w.data(), h.data(), rows, cols, o);
  ASSERT_EQ(res.groups, groups);
  const auto& codes = f.at("codes").values;
  int64_t same = 0, rows_same = 0;
  std::vector<bool> row_ok(static_cast<size_t>(rows), true);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const size_t i = static_cast<size_t>(r * cols + c);
      if (res.codes[i] == static_cast<int32_t>(codes[i])) {
        ++same;
      } else {
        row_ok[static_cast<size_t>(r)] = false;
      }
    }
    rows_same += row_ok[static_cast<size_t>(r)];
  }
  const double agreement = static_cast<double>(same) / static_cast<double>(rows * cols);

  const auto& scale = f.at("scale").values;
  const auto& zero = f.at("zero").values;
  double max_rel = 0.0;
  int64_t scale_not_bitwise = 0, zero_diff = 0;
  for (size_t i = 0; i < scale.size(); ++i) {
    const double ref = scale[i];
    max_rel = std::max(max_rel, std::fabs(res.scale[i] - ref) / std::fabs(ref));
    scale_not_bitwise += res.scale[i] != static_cast<float>(ref);
    zero_diff += res.zero[i] != static_cast<float>(zero[i]);  // by value: -0.0 == 0.0
  }
  const double ref_loss = std::stod(f.meta("reference_error"));
  const double loss_rel = std::fabs(res.loss - ref_loss) / ref_loss;
  std::printf("[golden] %-40s %s codes %.5f%% identical (%lld differ), rows %lld/%lld, max scale rel diff %.3g "
              "(%lld not bitwise), zero diffs %lld, loss %.6g vs %.6g (rel %.2g)\n",
              name.c_str(), o.solve_in_f64 ? "f64" : "f32", 100.0 * agreement, static_cast<long long>(rows * cols - same),
              static_cast<long long>(rows_same), static_cast<long long>(rows), max_rel,
              static_cast<long long>(scale_not_bitwise), static_cast<long long>(zero_diff), res.loss, ref_loss,
              loss_rel);
  EXPECT_GE(agreement, kMinCodeAgreement);
  EXPECT_GE(static_cast<double>(rows_same), kMinRowAgreement * static_cast<double>(rows));
  EXPECT_LE(max_rel, kMaxScaleRelDiff);
  EXPECT_EQ(zero_diff, 0);
  const bool upfront = o.group_size == -1 || o.static_groups || o.actorder == ActOrder::kStatic;
  if (upfront) {
    EXPECT_EQ(scale_not_bitwise, 0) << "per-channel/static scales depend only on W";
  }
  EXPECT_LE(loss_rel, kLossRelTol);

  // 3. g_idx, perm, dead columns, self-consistency.
  const auto& g_idx = f.at("g_idx").values;
  for (int64_t c = 0; c < cols; ++c) ASSERT_EQ(res.g_idx[c], static_cast<int32_t>(g_idx[c])) << "column " << c;
  if (f.has("perm")) {
    const auto& perm = f.at("perm").values;
    ASSERT_EQ(res.perm.size(), perm.size());
    for (size_t k = 0; k < perm.size(); ++k) ASSERT_EQ(res.perm[k], static_cast<int64_t>(perm[k])) << k;
  } else {
    EXPECT_TRUE(res.perm.empty());
  }
  EXPECT_EQ(res.g_idx_needed(), o.actorder == ActOrder::kGroup && o.group_size != -1);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const size_t i = static_cast<size_t>(r * cols + c);
      const size_t gi = static_cast<size_t>(r * groups + res.g_idx[c]);
      ASSERT_EQ(res.wq[i], res.scale[gi] * (static_cast<float>(res.codes[i]) - res.zero[gi]));
      if (h[static_cast<size_t>(c * cols + c)] == 0.0f) {
        ASSERT_EQ(res.wq[i], 0.0f) << "dead column " << c;
      }
    }
  }
  EXPECT_EQ(res.dead_columns, 3);

  // 4. Quality on the inputs file's X.
  const GoldenFile in = LoadGolden(GoldenDir() + f.meta("inputs_file"));
  const std::vector<float> x = in.F32("X");
  const int64_t tokens = in.at("X").shape[0];
  const double ours = OutRelErr(f.F32("W"), res.wq, x, rows, cols, tokens);
  const double ref = std::stod(f.meta("gptq_out_rel_err")), rtn = std::stod(f.meta("rtn_out_rel_err"));
  EXPECT_LE(std::fabs(ours - ref) / ref, kOutErrRelTol) << ours << " vs " << ref;
  EXPECT_LT(ours, rtn);
}

INSTANTIATE_TEST_SUITE_P(
    AllCases, GptqGolden,
    ::testing::Combine(::testing::Values("w4_sym_g128_L1_down_proj", "w4_sym_perchannel_L0_q_proj", "w4_asym_g32_L0_gate_proj",
                      "w4_sym_g64_actorder_L1_down_proj", "w4_sym_g64_actorder_static_L1_down_proj",
                      "w8_sym_perchannel_L0_q_proj", "w3_asym_g128_L1_down_proj",
                      "w4_sym_g128_static_L1_down_proj", "edge_w4_sym_perchannel_L0_q_proj",
                      "edge_w4_sym_g32_L0_q_proj", "edge_w4_asym_g32_L0_q_proj"),
                       ::testing::Bool()),
    [](const ::testing::TestParamInfo<std::tuple<std::string, bool>>& i) {
      return std::get<0>(i.param) + (std::get<1>(i.param) ? "_f64" : "_f32");
    });

// The inputs files: a float64 (2/n) X^T X cast to float32 reproduces H exactly (2/2048 is a power of two);
// float32 accumulation agrees to float32 rounding.
class HessianGolden : public ::testing::TestWithParam<std::string> {};

// Float32 syrk over 2048 tokens: each entry is a 2048-term sum, relative error ~ sqrt(n) * 2^-24 of the
// entry's scale sqrt(Hii * Hjj); 1e-5 leaves ~20x margin.
constexpr double kF32HessianTol = 1e-5;

TEST_P(HessianGolden, ReproducesInputsH) {
  const GoldenFile in = LoadGolden(GoldenDir() + GetParam() + ".safetensors");
  const std::vector<float> x = in.F32("X"), h = in.F32("H");
  const int64_t n = in.at("X").shape[0], cols = in.at("X").shape[1];
  for (HessianPrecision prec : {HessianPrecision::kF64, HessianPrecision::kF32}) {
    HessianAccumulator acc(cols, prec);
    // Feed in uneven chunks; each token row counts as one sample, as the golden H = (2/2048) X^T X does.
    int64_t done = 0;
    for (int64_t chunk : {1, 100, 947, 1000}) {
      acc.Add(x.data() + done * cols, chunk, chunk);
      done += chunk;
    }
    ASSERT_EQ(done, n);
    const std::vector<float> ours = acc.Finalize();
    int64_t differ = 0;
    double worst = 0;
    for (int64_t i = 0; i < cols; ++i) {
      for (int64_t j = 0; j < cols; ++j) {
        const size_t k = static_cast<size_t>(i * cols + j);
        differ += ours[k] != h[k];
        const double s = std::sqrt(static_cast<double>(h[i * cols + i]) * h[j * cols + j]);
        if (s > 0) {
          worst = std::max(worst, std::fabs(static_cast<double>(ours[k]) - h[k]) / s);
        } else {
          ASSERT_EQ(ours[k], 0.0f);
        }
      }
    }
    std::printf("[hessian] %s %s: %lld entries differ, worst %.3g\n", GetParam().c_str(),
                prec == HessianPrecision::kF64 ? "f64" : "f32", static_cast<long long>(differ), worst);
    if (prec == HessianPrecision::kF64) {
      EXPECT_EQ(differ, 0);
    } else {
      EXPECT_LE(worst, kF32HessianTol);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Inputs, HessianGolden,
                         ::testing::Values("inputs_L0_q_proj", "inputs_L0_gate_proj", "inputs_L1_down_proj"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
}  // namespace qforge::algorithms::gptq
