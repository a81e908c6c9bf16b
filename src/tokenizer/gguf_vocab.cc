// Tokenizer::FromVocab: the vocabularies GGUF files carry (FORMATS.md §5.4).
//   "llama": SentencePiece pieces + scores; text sections get a "▁" prefix and spaces become "▁" (llama.cpp
//            add_space_prefix), then SpmModel merges by score; byte tokens <0xNN> spell the rest.
//   "gpt2":  byte-level tokens + merges; tokenizer.ggml.pre picks the split regex (llama-bpe/llama3 ->
//            Llama-3 pattern with whole-token lookup first, qwen2 -> Qwen2 pattern, gpt2/default -> GPT-2).
// Control, user-defined and unknown tokens are matched verbatim in the text, like added tokens.
#include <fmt/format.h>

#include "core/error.h"
#include "tokenizer/tokenizer_impl.h"

namespace qforge::tokenizer {
namespace {

constexpr char kSpmSpace[] = "\u2581";

void CheckId(const std::optional<int32_t>& id, const char* what, int64_t n) {
  if (id && (*id < 0 || *id >= n)) Fail("GGUF vocabulary: {} id {} is outside 0..{}", what, *id, n - 1);
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::FromVocab(const Vocab& v) {
  auto m = std::make_unique<Impl>();
  m->context = fmt::format("GGUF vocabulary ({})", v.model);
  const auto n = static_cast<int64_t>(v.tokens.size());
  if (n == 0 || n > kMaxVocabSize) Fail("{}: {} tokens; expected 1..{}", m->context, n, kMaxVocabSize);
  if (!v.token_types.empty() && static_cast<int64_t>(v.token_types.size()) != n) {
    Fail("{}: {} token types for {} tokens", m->context, v.token_types.size(), n);
  }
  for (int32_t id = 0; id < n; ++id) {
    const std::string& text = v.tokens[static_cast<size_t>(id)];
    if (text.size() > kMaxTokenBytes) Fail("{}: token {} is {} bytes, over the limit {}", m->context, id, text.size(), kMaxTokenBytes);
    m->vocab.Set(id, text);
  }
  m->token_types = v.token_types.empty() ? std::vector<int32_t>(static_cast<size_t>(n), kTokenNormal) : v.token_types;
  m->is_added.assign(static_cast<size_t>(n), false);
  CheckId(v.bos_id, "bos", n);
  CheckId(v.eos_id, "eos", n);
  CheckId(v.unk_id, "unk", n);
  CheckId(v.pad_id, "pad", n);
  m->bos_id = v.bos_id, m->eos_id = v.eos_id, m->unk_id = v.unk_id, m->pad_id = v.pad_id;
  m->add_bos = v.add_bos, m->add_eos = v.add_eos;
  m->BuildAddedTokensFromTypes();

  if (v.model == "llama") {
    if (static_cast<int64_t>(v.scores.size()) != n) {
      Fail("{}: {} scores for {} tokens; a SentencePiece vocabulary needs one score per token", m->context,
           v.scores.size(), n);
    }
    m->spm_scores = v.scores;
    m->normalizers = {{NormalizerStep::Kind::kReplace, " ", kSpmSpace}, {NormalizerStep::Kind::kPrepend, kSpmSpace, ""}};
    m->spm = std::make_unique<SpmModel>(m->vocab, v.scores, v.unk_id);
    DecoderStep replace{DecoderStep::Kind::kReplace};
    replace.pattern = kSpmSpace;
    replace.content.assign(1, ' ');
    DecoderStep strip{DecoderStep::Kind::kStrip};
    strip.content.assign(1, ' ');
    strip.start = 1;
    m->decoders = {replace, {DecoderStep::Kind::kByteFallback}, {DecoderStep::Kind::kFuse}, strip};
  } else if (v.model == "gpt2") {
    const char* pattern = nullptr;
    bool ignore_merges = false;
    if (v.pre == "llama-bpe" || v.pre == "llama3" || v.pre == "llama-v3") {
      pattern = kLlama3Pattern, ignore_merges = true;
    } else if (v.pre == "qwen2") {
      pattern = kQwen2Pattern;
    } else if (v.pre == "gpt2" || v.pre == "default" || v.pre.empty()) {
      pattern = kGpt2Pattern;
    } else {
      Fail("{}: tokenizer.ggml.pre \"{}\" is not supported (supported: llama-bpe, llama3, llama-v3, qwen2, gpt2, "
           "default)", m->context, v.pre);
    }
    m->gguf_pre = v.pre;
    m->byte_level = true;
    PreTokenizerStep split{PreTokenizerStep::Kind::kSplit};
    split.regex = std::make_shared<RegexSplitter>(pattern, RegexSplitter::Behavior::kIsolated, m->context);
    m->pre_tokenizers = {std::move(split), {PreTokenizerStep::Kind::kByteLevel}};
    m->merges.reserve(v.merges.size());
    for (size_t i = 0; i < v.merges.size(); ++i) {
      const std::string& s = v.merges[i];
      const size_t space = s.size() > 1 ? s.find(' ', 1) : std::string::npos;
      if (space == std::string::npos || space + 1 >= s.size()) {
        Fail("{}: merges[{}] = \"{}\" is not \"<left> <right>\"", m->context, i, s);
      }
      m->merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    }
    BpeOptions options;
    options.byte_level = true;
    options.ignore_merges = ignore_merges;
    options.unk_id = v.unk_id;
    m->bpe = std::make_unique<BpeModel>(m->vocab, m->merges, options, m->context);
    m->decoders = {{DecoderStep::Kind::kByteLevel}};
  } else {
    Fail("{}: tokenizer.ggml.model \"{}\" is not supported (supported: llama, gpt2)", m->context, v.model);
  }
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(m)));
}

}  // namespace qforge::tokenizer
