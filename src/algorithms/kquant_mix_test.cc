// The llama-quantize mix rules against FORMATS.md §7 (tables observed in files written by llama-quantize).
#include "algorithms/kquant_mix.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/error.h"

namespace qforge::algorithms {
namespace {

// FORMATS.md §7.2 "layers with more(i)".
TEST(KquantMix, UseMoreBitsTable) {
  const std::map<int, std::vector<int>> want = {
      {16, {0, 1, 4, 7, 10, 13, 14, 15}},
      {22, {0, 1, 4, 7, 10, 13, 16, 19, 20, 21}},
      {26, {0, 1, 2, 5, 8, 11, 14, 17, 20, 22, 23, 24, 25}},
      {28, {0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27}},
      {32, {0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31}},
      {36, {0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 31, 32, 33, 34, 35}},
      {40, {0, 1, 2, 3, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 35, 36, 37, 38, 39}},
  };
  for (const auto& [n, layers] : want) {
    std::vector<int> got;
    for (int i = 0; i < n; ++i)
      if (UseMoreBits(i, n)) got.push_back(i);
    EXPECT_EQ(got, layers) << "n = " << n;
  }
  std::vector<int> got80, want80;
  for (int i = 0; i < 80; ++i)
    if (UseMoreBits(i, 80)) got80.push_back(i);
  for (int i = 0; i < 10; ++i) want80.push_back(i);
  for (int i = 12; i <= 69; i += 3) want80.push_back(i);
  for (int i = 70; i < 80; ++i) want80.push_back(i);
  EXPECT_EQ(got80, want80);
}

struct Model {
  int n_layers = 32, n_embd = 256, n_ff = 512;
  bool tied = false;
};

// Type of a named tensor of a llama model (ne = {in, out}).
std::string TypeOf(const std::string& name, KquantMix mix, const Model& m, KquantOptions o = {}) {
  const GgufTensorRef ref = ParseGgufTensorName(name);
  std::vector<int64_t> ne = {m.n_embd, m.n_embd};
  if (ref.role == GgufRole::kFfnDown) ne = {m.n_ff, m.n_embd};
  if (ref.role == GgufRole::kFfnGate || ref.role == GgufRole::kFfnUp) ne = {m.n_embd, m.n_ff};
  if (ref.role == GgufRole::kNorm) ne = {m.n_embd};
  const KquantModelFacts facts{m.n_layers, 8, 2, 0, !m.tied};
  const KquantChoice c = ChooseKquantType({ref.role, ref.layer, ne}, mix, facts, o);
  return c.quantize ? std::string(Name(c.type)) : "keep";
}

std::string Blk(int i, const char* leaf) { return "blk." + std::to_string(i) + "." + leaf + ".weight"; }

// FORMATS.md §7.2 table, 32 layers, n_embd 256.
TEST(KquantMix, DefaultRulesOn32Layers) {
  const Model m;
  struct Row { KquantMix mix; const char *output, *embd, *v_more, *v_other, *down_more, *down_other, *others; };
  const Row rows[] = {
      {KquantMix::kQ4_K_M, "Q6_K", "Q4_K", "Q6_K", "Q4_K", "Q6_K", "Q4_K", "Q4_K"},
      {KquantMix::kQ5_K_M, "Q6_K", "Q5_K", "Q6_K", "Q5_K", "Q6_K", "Q5_K", "Q5_K"},
      {KquantMix::kQ5_K_S, "Q6_K", "Q5_K", "Q5_K", "Q5_K", "Q5_K", "Q5_K", "Q5_K"},
      {KquantMix::kQ6_K, "Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K"},
      {KquantMix::kQ8_0, "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0"},
  };
  for (const Row& r : rows) {
    const std::string mix(Info(r.mix).name);
    EXPECT_EQ(TypeOf("output.weight", r.mix, m), r.output) << mix;
    EXPECT_EQ(TypeOf("token_embd.weight", r.mix, m), r.embd) << mix;
    EXPECT_EQ(TypeOf("output_norm.weight", r.mix, m), "keep") << mix;
    for (int i = 0; i < m.n_layers; ++i) {
      const bool more = UseMoreBits(i, m.n_layers);
      EXPECT_EQ(TypeOf(Blk(i, "attn_v"), r.mix, m), more ? r.v_more : r.v_other) << mix << " " << i;
      EXPECT_EQ(TypeOf(Blk(i, "ffn_down"), r.mix, m), more ? r.down_more : r.down_other) << mix << " " << i;
      for (const char* leaf : {"attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"})
        EXPECT_EQ(TypeOf(Blk(i, leaf), r.mix, m), r.others) << mix << " " << leaf << " " << i;
      EXPECT_EQ(TypeOf(Blk(i, "attn_norm"), r.mix, m), "keep");
    }
  }
}

TEST(KquantMix, Q4KSFirstLayers) {
  const Model m;  // 32 layers: n/8 = 4
  for (int i = 0; i < 32; ++i) {
    EXPECT_EQ(TypeOf(Blk(i, "attn_v"), KquantMix::kQ4_K_S, m), i < 4 ? "Q5_K" : "Q4_K") << i;
    EXPECT_EQ(TypeOf(Blk(i, "ffn_down"), KquantMix::kQ4_K_S, m), i < 4 ? "Q5_K" : "Q4_K") << i;
    EXPECT_EQ(TypeOf(Blk(i, "attn_q"), KquantMix::kQ4_K_S, m), "Q4_K");
  }
  EXPECT_EQ(TypeOf("output.weight", KquantMix::kQ4_K_S, m), "Q6_K");
}

TEST(KquantMix, Q3KMAndQ4_0) {
  const Model m;  // n/16 = 2
  for (int i = 0; i < 32; ++i) {
    EXPECT_EQ(TypeOf(Blk(i, "attn_v"), KquantMix::kQ3_K_M, m), i < 2 ? "Q5_K" : "Q4_K");
    EXPECT_EQ(TypeOf(Blk(i, "ffn_down"), KquantMix::kQ3_K_M, m), i < 2 ? "Q5_K" : "Q4_K");
    EXPECT_EQ(TypeOf(Blk(i, "attn_output"), KquantMix::kQ3_K_M, m), "Q4_K");
    EXPECT_EQ(TypeOf(Blk(i, "attn_q"), KquantMix::kQ3_K_M, m), "Q3_K");
    EXPECT_EQ(TypeOf(Blk(i, "ffn_up"), KquantMix::kQ3_K_M, m), "Q3_K");
    EXPECT_EQ(TypeOf(Blk(i, "ffn_down"), KquantMix::kQ4_0, m), "Q4_0");
    KquantOptions im;
    im.has_imatrix = true;
    EXPECT_EQ(TypeOf(Blk(i, "ffn_down"), KquantMix::kQ4_0, m, im), i < 4 ? "Q4_1" : "Q4_0");
    EXPECT_EQ(TypeOf(Blk(i, "attn_v"), KquantMix::kQ4_0, m, im), "Q4_0");
  }
  EXPECT_EQ(TypeOf("output.weight", KquantMix::kQ3_K_M, m), "Q6_K");
  EXPECT_EQ(TypeOf("token_embd.weight", KquantMix::kQ3_K_M, m), "Q3_K");
  EXPECT_EQ(TypeOf("output.weight", KquantMix::kQ4_0, m), "Q6_K");
  EXPECT_EQ(TypeOf("token_embd.weight", KquantMix::kQ4_0, m), "Q4_0");
}

TEST(KquantMix, TiedEmbeddingsTakeTheOutputRule) {
  Model m;
  m.tied = true;
  EXPECT_EQ(TypeOf("token_embd.weight", KquantMix::kQ4_K_M, m), "Q6_K");
  EXPECT_EQ(TypeOf("token_embd.weight", KquantMix::kQ5_K_S, m), "Q6_K");
  EXPECT_EQ(TypeOf("token_embd.weight", KquantMix::kQ8_0, m), "Q8_0");
  m.n_embd = 192;
  EXPECT_EQ(TypeOf("token_embd.weight", KquantMix::kQ4_K_M, m), "Q8_0");
}

// FORMATS.md §7.3, verified on a 28-layer model with n_embd 192, n_ff 512.
TEST(KquantMix, FallbacksOnRowsNotMultipleOf256) {
  const Model m{28, 192, 512, false};
  EXPECT_EQ(TypeOf("output.weight", KquantMix::kQ4_K_M, m), "Q8_0");
  EXPECT_EQ(TypeOf("token_embd.weight", KquantMix::kQ4_K_M, m), "Q5_0");
  for (int i = 0; i < 28; ++i) {
    const bool more = UseMoreBits(i, 28);
    for (const char* leaf : {"attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"}) {
      EXPECT_EQ(TypeOf(Blk(i, leaf), KquantMix::kQ4_K_M, m), "Q5_0") << leaf;
      EXPECT_EQ(TypeOf(Blk(i, leaf), KquantMix::kQ5_K_M, m), "Q5_1") << leaf;
      EXPECT_EQ(TypeOf(Blk(i, leaf), KquantMix::kQ6_K, m), "Q8_0") << leaf;
      EXPECT_EQ(TypeOf(Blk(i, leaf), KquantMix::kQ3_K_M, m), leaf == std::string("attn_output") ? "Q5_0" : "Q4_0");
    }
    EXPECT_EQ(TypeOf(Blk(i, "attn_v"), KquantMix::kQ4_K_M, m), more ? "Q8_0" : "Q5_0") << i;
    EXPECT_EQ(TypeOf(Blk(i, "ffn_down"), KquantMix::kQ4_K_M, m), more ? "Q6_K" : "Q4_K") << i;
    EXPECT_EQ(TypeOf(Blk(i, "ffn_down"), KquantMix::kQ6_K, m), "Q6_K");
  }
  const KquantModelFacts facts{28, 8, 2, 0, true};
  const std::vector<int64_t> ne = {192, 192};
  EXPECT_TRUE(ChooseKquantType({GgufRole::kAttnQ, 0, ne}, KquantMix::kQ4_K_M, facts, {}).fallback);
  EXPECT_FALSE(ChooseKquantType({GgufRole::kOutput, -1, ne}, KquantMix::kQ4_K_M, facts, {}).fallback);
  EXPECT_EQ(FallbackType(DType::kQ8_0, 48), DType::kF16);
  EXPECT_EQ(FallbackType(DType::kQ4_K, 48), DType::kF16);
  EXPECT_EQ(FallbackType(DType::kQ2_K, 96), DType::kQ4_0);
  EXPECT_EQ(FallbackType(DType::kQ6_K, 512), DType::kQ6_K);
  EXPECT_EQ(FallbackType(DType::kF16, 7), DType::kF16);
}

TEST(KquantMix, PureAndOverrides) {
  const Model m;
  KquantOptions pure;
  pure.pure = true;
  EXPECT_EQ(TypeOf("output.weight", KquantMix::kQ4_K_M, m, pure), "Q4_K");
  EXPECT_EQ(TypeOf(Blk(0, "attn_v"), KquantMix::kQ4_K_M, m, pure), "Q4_K");
  EXPECT_EQ(TypeOf(Blk(0, "ffn_down"), KquantMix::kQ5_K_M, m, pure), "Q5_K");
  EXPECT_EQ(TypeOf(Blk(0, "attn_norm"), KquantMix::kQ5_K_M, m, pure), "keep");
  KquantOptions o;
  o.output_tensor_type = DType::kQ8_0;
  o.token_embedding_type = DType::kF16;
  EXPECT_EQ(TypeOf("output.weight", KquantMix::kQ4_K_M, m, o), "Q8_0");
  EXPECT_EQ(TypeOf("token_embd.weight", KquantMix::kQ4_K_M, m, o), "F16");
  EXPECT_EQ(TypeOf(Blk(3, "attn_v"), KquantMix::kQ4_K_M, m, o), "Q6_K");
  o.pure = true;
  EXPECT_EQ(TypeOf("output.weight", KquantMix::kQ4_K_M, m, o), "Q8_0");
  EXPECT_EQ(TypeOf(Blk(3, "attn_v"), KquantMix::kQ4_K_M, m, o), "Q4_K");
  Model tied = m;
  tied.tied = true;
  KquantOptions out_only;
  out_only.output_tensor_type = DType::kQ5_K;
  EXPECT_EQ(TypeOf("token_embd.weight", KquantMix::kQ4_K_M, tied, out_only), "Q5_K");
  KquantOptions bad;
  bad.output_tensor_type = DType::kI32;
  EXPECT_THROW(TypeOf("output.weight", KquantMix::kQ4_K_M, m, bad), Error);
}

TEST(KquantMix, ModelSpecificRules) {
  const std::vector<int64_t> ne = {8192, 1024};
  KquantModelFacts llama70b{80, 64, 8, 0, true};
  for (int i = 0; i < 80; ++i) {
    const auto m = ChooseKquantType({GgufRole::kAttnV, i, ne}, KquantMix::kQ4_K_M, llama70b, {});
    EXPECT_EQ(m.type, UseMoreBits(i, 80) ? DType::kQ6_K : DType::kQ5_K) << i;
    EXPECT_EQ(ChooseKquantType({GgufRole::kAttnV, i, ne}, KquantMix::kQ4_K_S, llama70b, {}).type, DType::kQ5_K);
  }
  KquantModelFacts llama65b{80, 64, 64, 0, true};
  EXPECT_EQ(ChooseKquantType({GgufRole::kAttnV, 10, ne}, KquantMix::kQ4_K_M, llama65b, {}).type, DType::kQ4_K);
  KquantModelFacts moe{32, 32, 8, 8, true};
  for (KquantMix mix : {KquantMix::kQ4_K_M, KquantMix::kQ5_K_S, KquantMix::kQ6_K}) {
    EXPECT_EQ(ChooseKquantType({GgufRole::kAttnV, 5, ne}, mix, moe, {}).type, DType::kQ8_0);
    EXPECT_EQ(ChooseKquantType({GgufRole::kAttnK, 5, ne}, mix, moe, {}).type, DType::kQ8_0);
  }
  EXPECT_EQ(ChooseKquantType({GgufRole::kAttnOutput, 5, ne}, KquantMix::kQ4_K_M, moe, {}).type, DType::kQ5_K);
  EXPECT_EQ(ChooseKquantType({GgufRole::kAttnOutput, 5, ne}, KquantMix::kQ5_K_M, moe, {}).type, DType::kQ5_K);
  EXPECT_EQ(ChooseKquantType({GgufRole::kAttnOutput, 5, ne}, KquantMix::kQ6_K, moe, {}).type, DType::kQ6_K);
  KquantModelFacts dense{32, 32, 8, 0, true};
  EXPECT_EQ(ChooseKquantType({GgufRole::kAttnQkv, 1, ne}, KquantMix::kQ4_K_M, dense, {}).type, DType::kQ5_K);
  EXPECT_EQ(ChooseKquantType({GgufRole::kAttnQkv, 1, ne}, KquantMix::kQ5_K_M, dense, {}).type, DType::kQ6_K);
}

TEST(KquantMix, NamesAndInfo) {
  EXPECT_EQ(AllKquantMixes().size(), 8u);
  EXPECT_EQ(KquantMixFromName("q4_k_m"), KquantMix::kQ4_K_M);
  EXPECT_EQ(KquantMixFromName("Q3_K_M"), KquantMix::kQ3_K_M);
  EXPECT_FALSE(KquantMixFromName("Q4_K_L").has_value());
  EXPECT_EQ(Info(KquantMix::kQ4_K_M).file_type, 15u);
  EXPECT_EQ(Info(KquantMix::kQ5_K_M).file_type, 17u);
  EXPECT_EQ(Info(KquantMix::kQ4_0).file_type, 2u);
  EXPECT_EQ(Info(KquantMix::kQ3_K_M).file_type, 12u);
  EXPECT_EQ(ParseGgufTensorName("blk.17.ffn_down.weight").role, GgufRole::kFfnDown);
  EXPECT_EQ(ParseGgufTensorName("blk.17.ffn_down.weight").layer, 17);
  EXPECT_EQ(ParseGgufTensorName("blk.x.ffn_down.weight").role, GgufRole::kOther);
  EXPECT_EQ(ParseGgufTensorName("blk.3.attn_k.bias").role, GgufRole::kOther);
  EXPECT_EQ(ParseGgufTensorName("rope_freqs.weight").role, GgufRole::kOther);
  EXPECT_EQ(ParseGgufTensorName("blk.0.ffn_norm.weight").role, GgufRole::kNorm);
  const KquantModelFacts f{4, 4, 4, 0, true};
  const std::vector<int64_t> ne = {256, 256};
  EXPECT_THROW(ChooseKquantType({GgufRole::kAttnQ, 4, ne}, KquantMix::kQ4_K_M, f, {}), Error);
  const std::vector<int64_t> one_d = {256};
  EXPECT_FALSE(ChooseKquantType({GgufRole::kOther, -1, one_d}, KquantMix::kQ4_K_M, f, {}).quantize);
}

}  // namespace
}  // namespace qforge::algorithms
