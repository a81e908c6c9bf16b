#include "tokenizer/regex_split.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace qforge::tokenizer {

struct RegexSplitter::Code {
  pcre2_code* code = nullptr;
  ~Code() { pcre2_code_free(code); }
};

RegexSplitter::RegexSplitter(const std::string& pattern, Behavior behavior, const std::string& context)
    : code_(std::make_unique<Code>()), behavior_(behavior) {
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  code_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                              PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error, &error_offset,
                              nullptr);
  if (code_->code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    Fail("{}: pre-tokenizer regex /{}/ is invalid at offset {}: {}", context, pattern, error_offset,
         reinterpret_cast<const char*>(message));
  }
  // JIT is an optimisation only: the interpreter gives the same matches when JIT is unavailable.
  pcre2_jit_compile(code_->code, PCRE2_JIT_COMPLETE);
}

RegexSplitter::~RegexSplitter() = default;

void RegexSplitter::Split(std::string_view text, std::vector<std::string_view>& out) const {
  struct MatchData {
    pcre2_match_data* md;
    ~MatchData() { pcre2_match_data_free(md); }
  } match{pcre2_match_data_create_from_pattern(code_->code, nullptr)};
  QF_CHECK(match.md != nullptr);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t gap_start = 0;  // start of the text not covered by a match yet
  size_t offset = 0;     // where the next search starts
  while (offset < text.size()) {
    const int rc = pcre2_match(code_->code, subject, text.size(), offset, 0, match.md, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    QF_CHECK_MSG(rc > 0, "pcre2_match failed with code {}", rc);
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.md);
    const size_t begin = ovector[0];
    const size_t end = ovector[1];
    if (end == begin) {  // an empty match splits nothing: step over one character
      if (begin >= text.size()) break;
      offset = begin + DecodeUtf8(text, begin).len;
      continue;
    }
    if (begin > gap_start) out.push_back(text.substr(gap_start, begin - gap_start));
    if (behavior_ == Behavior::kIsolated) out.push_back(text.substr(begin, end - begin));
    gap_start = offset = end;
  }
  if (gap_start < text.size()) out.push_back(text.substr(gap_start));
}

}  // namespace qforge::tokenizer
