// The reader against compressed-tensors-layout goldens (../shared/golden/compressed_tensors/gptq_as_ct_*):
// dequantizing the packed tensors reproduces `expected_dequantized` bit for bit, and packing the GPTQ
// reference codes reproduces weight_packed / weight_zero_point exactly.
#include "formats/compressed_tensors/reader.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "codecs/int/pack_int32.h"
#include "core/error.h"
#include "formats/safetensors/checkpoint.h"
#include "formats/safetensors/file.h"

namespace qforge::compressed_tensors {
namespace {

std::string Shared(const std::string& rel) {
  const std::string p = std::string(QFORGE_SHARED_DIR) + "/golden/" + rel;
  EXPECT_TRUE(std::filesystem::exists(p)) << p << " missing";
  return p;
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  std::vector<T> v(t.nbytes() / sizeof(T));
  std::memcpy(v.data(), t.bytes(), t.nbytes());
  return v;
}

struct Case {
  const char* name;
  const char* prefix;
  bool sym;
  int64_t group;
};

TEST(Reader, DequantizesGoldenBitForBit) {
  const Case cases[] = {{"w4_sym_g128_L1_down_proj", "model.layers.1.mlp.down_proj", true, 128},
                        {"w4_asym_g32_L0_gate_proj", "model.layers.0.mlp.gate_proj", false, 32},
                        {"w4_sym_g64_actorder_L1_down_proj", "model.layers.1.mlp.down_proj", true, 64}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = Shared(std::string("compressed_tensors/gptq_as_ct_") + c.name + ".safetensors");
    QuantizationConfig cfg;
    ConfigGroup g;
    g.weights = QuantizationArgs{4, "int", c.sym, "group", c.group, false, std::nullopt, "minmax"};
    cfg.groups.push_back(g);
    auto src = DequantizingSource(safetensors::OpenCheckpoint(path), cfg);
    const std::string wname = std::string(c.prefix) + ".weight";
    ASSERT_TRUE(src->Has(wname));
    EXPECT_FALSE(src->Has(std::string(c.prefix) + ".weight_packed"));
    const Tensor w = src->Get(wname);
    const auto expected = Values<uint32_t>(src->Get("expected_dequantized"));
    EXPECT_EQ(Values<uint32_t>(w), expected);

    // Packing the reference codes gives the stored words.
    auto gptq = safetensors::File::Open(Shared(std::string("gptq/") + c.name + ".safetensors"));
    const auto codes_u = Values<int32_t>(gptq->Get("codes"));
    std::vector<int8_t> codes(codes_u.size());
    for (size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<int8_t>(codes_u[i] - 8);
    auto raw = safetensors::File::Open(path);
    const Tensor packed = raw->Get(std::string(c.prefix) + ".weight_packed");
    const int64_t out = w.dim(0), in = w.dim(1);
    EXPECT_EQ(codecs::PackInt32(codes, out, in, 4, 1, "codes"), Values<uint32_t>(packed));
    if (!c.sym) {
      const auto zero = Values<float>(gptq->Get("zero"));
      std::vector<int8_t> zp(zero.size());
      for (size_t i = 0; i < zp.size(); ++i) zp[i] = static_cast<int8_t>(static_cast<int>(zero[i]) - 8);
      EXPECT_EQ(codecs::PackInt32(zp, out, static_cast<int64_t>(zp.size()) / out, 4, 0, "zp"),
                Values<uint32_t>(raw->Get(std::string(c.prefix) + ".weight_zero_point")));
    }
  }
}

TEST(Reader, RejectsInconsistentTensors) {
  const std::string path = Shared("compressed_tensors/gptq_as_ct_w4_sym_g128_L1_down_proj.safetensors");
  QuantizationConfig cfg;
  ConfigGroup g;
  g.weights = QuantizationArgs{4, "int", true, "group", 64, false, std::nullopt, "minmax"};  // file has g128
  cfg.groups.push_back(g);
  auto src = DequantizingSource(safetensors::OpenCheckpoint(path), cfg);
  EXPECT_THROW(src->Get("model.layers.1.mlp.down_proj.weight"), Error);
  cfg.groups[0].weights->num_bits = 8;  // packed width no longer matches
  cfg.groups[0].weights->group_size = 128;
  auto src8 = DequantizingSource(safetensors::OpenCheckpoint(path), cfg);
  EXPECT_THROW(src8->Get("model.layers.1.mlp.down_proj.weight"), Error);
  cfg.groups[0].weights->num_bits = 4;
  cfg.groups[0].weights->symmetric = false;  // asymmetric without zero points
  auto srca = DequantizingSource(safetensors::OpenCheckpoint(path), cfg);
  EXPECT_THROW(srca->Get("model.layers.1.mlp.down_proj.weight"), Error);
}

}  // namespace
}  // namespace qforge::compressed_tensors
