// Added (special) tokens: strings matched verbatim in the input before any normalization, like
// "<|begin_of_text|>" or "<|im_start|>". Matching is leftmost-longest, as in Hugging Face tokenizers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qforge::tokenizer {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false;
  bool lstrip = false;  // swallow whitespace on the left
  bool rstrip = false;  // swallow whitespace on the right
};

// A section of the input: plain text for the model, or one added token.
struct Section {
  std::string_view text;
  int32_t added_id = -1;  // >= 0 when this section is an added token
};

class AddedTokenSplitter {
 public:
  explicit AddedTokenSplitter(std::vector<AddedToken> tokens);
  // Splits text into sections; empty text sections are dropped. lstrip/rstrip trim the neighbouring text.
  std::vector<Section> Split(std::string_view text) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  struct Node {
    int32_t first_child = -1;
    int32_t next_sibling = -1;
    int32_t token = -1;  // index into tokens_ when a token ends here
    unsigned char byte = 0;
  };
  int32_t Child(int32_t node, unsigned char b) const;

  std::vector<AddedToken> tokens_;
  std::vector<Node> nodes_;  // nodes_[0] is the root
  bool starts_[256] = {};    // bytes some token starts with
};

}  // namespace qforge::tokenizer
