#include "model/observer.h"

#include <array>

namespace qforge::model {

std::string_view LinearModuleName(LinearKind kind) {
  static constexpr std::array<std::string_view, kNumLinearKinds> kNames = {
      "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
      "mlp.gate_proj",    "mlp.up_proj",      "mlp.down_proj"};
  return kNames[static_cast<size_t>(kind)];
}

}  // namespace qforge::model
