#include "tokenizer/vocab_index.h"

#include "core/error.h"

namespace qforge::tokenizer {

void VocabIndex::Set(int32_t id, std::string text, bool overwrite) {
  QF_CHECK(id >= 0);
  if (static_cast<size_t>(id) >= texts_.size()) texts_.resize(static_cast<size_t>(id) + 1);
  texts_[static_cast<size_t>(id)] = text;
  if (overwrite) {
    ids_.insert_or_assign(std::move(text), id);
  } else {
    ids_.emplace(std::move(text), id);
  }
}

}  // namespace qforge::tokenizer
