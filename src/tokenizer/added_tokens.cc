#include "tokenizer/added_tokens.h"

#include "tokenizer/utf8.h"

namespace qforge::tokenizer {
namespace {

// Trims JS whitespace (the oracle's String.trimStart / trimEnd) from one end of s.
std::string_view TrimStart(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    const Utf8Char ch = DecodeUtf8(s, pos);
    if (!ch.valid || !IsJsWhitespace(ch.cp)) break;
    pos += ch.len;
  }
  return s.substr(pos);
}

std::string_view TrimEnd(std::string_view s) {
  size_t keep = 0;  // end of the last non-whitespace character
  for (size_t pos = 0; pos < s.size();) {
    const Utf8Char ch = DecodeUtf8(s, pos);
    pos += ch.len;
    if (!ch.valid || !IsJsWhitespace(ch.cp)) keep = pos;
  }
  return s.substr(0, keep);
}

}  // namespace

AddedTokenSplitter::AddedTokenSplitter(std::vector<AddedToken> tokens) : tokens_(std::move(tokens)) {
  nodes_.push_back({});
  for (size_t t = 0; t < tokens_.size(); ++t) {
    const std::string& s = tokens_[t].content;
    if (s.empty()) continue;
    starts_[static_cast<unsigned char>(s[0])] = true;
    int32_t node = 0;
    for (char c : s) {
      const auto b = static_cast<unsigned char>(c);
      int32_t child = Child(node, b);
      if (child < 0) {
        child = static_cast<int32_t>(nodes_.size());
        nodes_.push_back({-1, nodes_[node].first_child, -1, b});
        nodes_[node].first_child = child;
      }
      node = child;
    }
    nodes_[node].token = static_cast<int32_t>(t);  // a later duplicate wins, like a map insert
  }
}

int32_t AddedTokenSplitter::Child(int32_t node, unsigned char b) const {
  for (int32_t c = nodes_[node].first_child; c >= 0; c = nodes_[c].next_sibling) {
    if (nodes_[c].byte == b) return c;
  }
  return -1;
}

std::vector<Section> AddedTokenSplitter::Split(std::string_view text) const {
  std::vector<Section> sections;
  std::vector<int32_t> token_index;  // parallel to sections: index into tokens_, or -1 for text
  size_t start = 0;
  size_t i = 0;
  while (i < text.size()) {
    int32_t match = -1;
    size_t match_len = 0;
    if (starts_[static_cast<unsigned char>(text[i])]) {
      int32_t node = 0;
      for (size_t j = i; j < text.size(); ++j) {
        node = Child(node, static_cast<unsigned char>(text[j]));
        if (node < 0) break;
        if (nodes_[node].token >= 0) match = nodes_[node].token, match_len = j + 1 - i;
      }
    }
    if (match < 0) {
      ++i;
      continue;
    }
    if (i > start) {
      sections.push_back({text.substr(start, i - start), -1});
      token_index.push_back(-1);
    }
    sections.push_back({text.substr(i, match_len), tokens_[match].id});
    token_index.push_back(match);
    i += match_len;
    start = i;
  }
  if (start < text.size()) {
    sections.push_back({text.substr(start), -1});
    token_index.push_back(-1);
  }

  // lstrip / rstrip: an added token swallows the whitespace next to it.
  for (size_t s = 0; s < sections.size(); ++s) {
    if (token_index[s] < 0) continue;
    const AddedToken* token = &tokens_[token_index[s]];
    if (token->lstrip && s > 0 && sections[s - 1].added_id < 0) {
      sections[s - 1].text = TrimEnd(sections[s - 1].text);
    }
    if (token->rstrip && s + 1 < sections.size() && sections[s + 1].added_id < 0) {
      sections[s + 1].text = TrimStart(sections[s + 1].text);
    }
  }
  std::erase_if(sections, [](const Section& s) { return s.text.empty(); });
  return sections;
}

}  // namespace qforge::tokenizer
