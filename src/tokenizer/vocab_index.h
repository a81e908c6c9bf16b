// Token id <-> token string, with string_view lookup (no allocation per lookup on the hot path).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace qforge::tokenizer {

class VocabIndex {
 public:
  // Sets the text of `id` (growing the table; holes stay empty strings). The first id given a text keeps
  // the reverse mapping, except that `overwrite` makes this id the one the text maps to.
  void Set(int32_t id, std::string text, bool overwrite = false);
  std::optional<int32_t> Find(std::string_view text) const {
    auto it = ids_.find(text);
    if (it == ids_.end()) return std::nullopt;
    return it->second;
  }
  const std::string& Text(int32_t id) const { return texts_[static_cast<size_t>(id)]; }
  bool Contains(int32_t id) const { return id >= 0 && static_cast<size_t>(id) < texts_.size(); }
  int64_t size() const { return static_cast<int64_t>(texts_.size()); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<std::string> texts_;
  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> ids_;
};

}  // namespace qforge::tokenizer
