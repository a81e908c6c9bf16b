// Tokenizer::FromTokenizerJson / FromHfDir: Hugging Face tokenizer.json (+ tokenizer_config.json).
//
// tokenizer.json layout (the fields read here; anything else in a supported component is ignored):
//   added_tokens:   [{id, content, special, lstrip, rstrip, ...}]
//   normalizer:     null | {type: Sequence, normalizers: [..]} | NFC | Prepend{prepend} | Replace{pattern: {String}, content}
//   pre_tokenizer:  null | Sequence{pretokenizers} | Split{pattern: {Regex|String}, behavior, invert}
//                   | ByteLevel{add_prefix_space, use_regex} | Metaspace{replacement, prepend_scheme, split}
//   post_processor: TemplateProcessing{single: [{SpecialToken: {id}} | {Sequence}], special_tokens} (BOS/EOS) | other
//   decoder:        null | Sequence{decoders} | Replace | ByteFallback | Fuse | Strip{content, start, stop}
//                   | ByteLevel | Metaspace
//   model:          {type: BPE, vocab: {token: id}, merges: ["a b"] | [["a", "b"]], byte_fallback,
//                    ignore_merges, fuse_unk, unk_token, continuing_subword_prefix, end_of_word_suffix}
// tokenizer_config.json: bos_token / eos_token / unk_token / pad_token (string or {content}),
//   add_bos_token / add_eos_token (override what the post_processor implies).
#include <fmt/format.h>

#include <filesystem>

#include "core/error.h"
#include "io/json_util.h"
#include "tokenizer/tokenizer_impl.h"

namespace qforge::tokenizer {
namespace {

using io::Json;

std::string TypeOf(const Json& component, const std::string& context) {
  return io::GetString(component, "type", context);
}

std::string LiteralPattern(const Json& component, const std::string& context) {
  const Json& pattern = io::Require(component, "pattern", context);
  if (!pattern.is_object() || !pattern.contains("String") || !pattern["String"].is_string()) {
    Fail("{}: only literal {{\"String\": ...}} patterns are supported here, found {}", context,
         pattern.dump().substr(0, 80));
  }
  std::string s = pattern["String"].get<std::string>();
  if (s.empty()) Fail("{}: the pattern string is empty", context);
  return s;
}

void ParseNormalizer(const Json& n, const std::string& context, std::vector<NormalizerStep>& out) {
  if (n.is_null()) return;
  const std::string type = TypeOf(n, context);
  const std::string where = context + ": normalizer " + type;
  if (type == "Sequence") {
    const Json& list = io::Require(n, "normalizers", where);
    if (!list.is_array()) Fail("{}: \"normalizers\" must be an array", where);
    for (const Json& item : list) ParseNormalizer(item, context, out);
  } else if (type == "NFC") {
    out.push_back({NormalizerStep::Kind::kNfc, "", ""});
  } else if (type == "Prepend") {
    out.push_back({NormalizerStep::Kind::kPrepend, io::GetString(n, "prepend", where), ""});
  } else if (type == "Replace") {
    out.push_back({NormalizerStep::Kind::kReplace, LiteralPattern(n, where), io::GetString(n, "content", where)});
  } else {
    Fail("{}: unsupported normalizer type \"{}\" (supported: Sequence, NFC, Prepend, Replace)", context, type);
  }
}

PreTokenizerStep::PrependScheme ParsePrependScheme(const Json& p, const std::string& where) {
  if (auto scheme = io::GetOptString(p, "prepend_scheme", where)) {
    if (*scheme == "always") return PreTokenizerStep::PrependScheme::kAlways;
    if (*scheme == "first") return PreTokenizerStep::PrependScheme::kFirst;
    if (*scheme == "never") return PreTokenizerStep::PrependScheme::kNever;
    Fail("{}: prepend_scheme \"{}\" is not one of always, first, never", where, *scheme);
  }
  return io::GetOptBool(p, "add_prefix_space", where).value_or(true) ? PreTokenizerStep::PrependScheme::kAlways
                                                                      : PreTokenizerStep::PrependScheme::kNever;
}

std::string QuoteRegex(const std::string& literal) {
  std::string out;
  for (char c : literal) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

void ParsePreTokenizer(const Json& p, const std::string& context, std::vector<PreTokenizerStep>& out) {
  if (p.is_null()) return;
  const std::string type = TypeOf(p, context);
  const std::string where = context + ": pre_tokenizer " + type;
  if (type == "Sequence") {
    const Json& list = io::Require(p, "pretokenizers", where);
    if (!list.is_array()) Fail("{}: \"pretokenizers\" must be an array", where);
    for (const Json& item : list) ParsePreTokenizer(item, context, out);
  } else if (type == "Split") {
    if (io::GetOptBool(p, "invert", where).value_or(false)) Fail("{}: invert = true is not supported", where);
    const std::string behavior = io::GetString(p, "behavior", where);
    RegexSplitter::Behavior b;
    if (behavior == "Isolated") {
      b = RegexSplitter::Behavior::kIsolated;
    } else if (behavior == "Removed") {
      b = RegexSplitter::Behavior::kRemoved;
    } else {
      Fail("{}: behavior \"{}\" is not supported (supported: Isolated, Removed)", where, behavior);
    }
    const Json& pattern = io::Require(p, "pattern", where);
    std::string regex;
    if (pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string()) {
      regex = pattern["Regex"].get<std::string>();
    } else if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string()) {
      regex = QuoteRegex(pattern["String"].get<std::string>());
    } else {
      Fail("{}: pattern must be {{\"Regex\": ...}} or {{\"String\": ...}}, found {}", where, pattern.dump().substr(0, 80));
    }
    PreTokenizerStep step{PreTokenizerStep::Kind::kSplit};
    step.regex = std::make_shared<RegexSplitter>(regex, b, where);
    out.push_back(std::move(step));
  } else if (type == "ByteLevel") {
    PreTokenizerStep step{PreTokenizerStep::Kind::kByteLevel};
    step.add_prefix_space = io::GetOptBool(p, "add_prefix_space", where).value_or(false);
    if (io::GetOptBool(p, "use_regex", where).value_or(true)) {
      step.regex = std::make_shared<RegexSplitter>(kGpt2Pattern, RegexSplitter::Behavior::kIsolated, where);
    }
    out.push_back(std::move(step));
  } else if (type == "Metaspace") {
    PreTokenizerStep step{PreTokenizerStep::Kind::kMetaspace};
    step.replacement = io::GetOptString(p, "replacement", where).value_or("\u2581");
    if (step.replacement.empty()) Fail("{}: replacement is empty", where);
    step.prepend_scheme = ParsePrependScheme(p, where);
    step.split = io::GetOptBool(p, "split", where).value_or(true);
    out.push_back(std::move(step));
  } else {
    Fail("{}: unsupported pre_tokenizer type \"{}\" (supported: Sequence, Split, ByteLevel, Metaspace)", context,
         type);
  }
}

void ParseDecoder(const Json& d, const std::string& context, std::vector<DecoderStep>& out) {
  if (d.is_null()) return;
  const std::string type = TypeOf(d, context);
  const std::string where = context + ": decoder " + type;
  if (type == "Sequence") {
    const Json& list = io::Require(d, "decoders", where);
    if (!list.is_array()) Fail("{}: \"decoders\" must be an array", where);
    for (const Json& item : list) ParseDecoder(item, context, out);
  } else if (type == "Replace") {
    DecoderStep step{DecoderStep::Kind::kReplace};
    step.pattern = LiteralPattern(d, where);
    step.content = io::GetString(d, "content", where);
    out.push_back(std::move(step));
  } else if (type == "ByteFallback") {
    out.push_back({DecoderStep::Kind::kByteFallback});
  } else if (type == "Fuse") {
    out.push_back({DecoderStep::Kind::kFuse});
  } else if (type == "Strip") {
    constexpr int64_t kMaxStrip = 1 << 20;  // far beyond any real config; keeps the loop bounds sane
    DecoderStep step{DecoderStep::Kind::kStrip};
    step.content = io::GetString(d, "content", where);
    const int64_t start = io::GetInt(d, "start", where);
    const int64_t stop = io::GetInt(d, "stop", where);
    if (start < 0 || stop < 0 || start > kMaxStrip || stop > kMaxStrip) {
      Fail("{}: start {} / stop {} must be in 0..{}", where, start, stop, kMaxStrip);
    }
    step.start = static_cast<int>(start);
    step.stop = static_cast<int>(stop);
    out.push_back(std::move(step));
  } else if (type == "ByteLevel") {
    out.push_back({DecoderStep::Kind::kByteLevel});
  } else if (type == "Metaspace") {
    DecoderStep step{DecoderStep::Kind::kMetaspace};
    step.pattern = io::GetOptString(d, "replacement", where).value_or("\u2581");
    if (step.pattern.empty()) Fail("{}: replacement is empty", where);
    step.prepend = ParsePrependScheme(d, where) != PreTokenizerStep::PrependScheme::kNever;
    out.push_back(std::move(step));
  } else {
    Fail("{}: unsupported decoder type \"{}\" (supported: Sequence, Replace, ByteFallback, Fuse, Strip, "
         "ByteLevel, Metaspace)",
         context, type);
  }
}

std::pair<std::string, std::string> ParseMerge(const Json& m, size_t index, const std::string& context) {
  if (m.is_string()) {
    const std::string& s = m.get_ref<const std::string&>();
    const size_t space = s.size() > 1 ? s.find(' ', 1) : std::string::npos;
    if (space == std::string::npos || space + 1 >= s.size()) {
      Fail("{}: model.merges[{}] = \"{}\" is not \"<left> <right>\"", context, index, s);
    }
    return {s.substr(0, space), s.substr(space + 1)};
  }
  if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
    return {m[0].get<std::string>(), m[1].get<std::string>()};
  }
  Fail("{}: model.merges[{}] must be \"<left> <right>\" or [left, right], found {}", context, index,
       m.dump().substr(0, 80));
}

int32_t ParseId(const Json& v, const std::string& what, const std::string& context) {
  if (!v.is_number_integer() && !v.is_number_unsigned()) Fail("{}: {} must be an integer id", context, what);
  const int64_t id = v.is_number_unsigned() ? static_cast<int64_t>(std::min<uint64_t>(v.get<uint64_t>(), INT64_MAX))
                                            : v.get<int64_t>();
  if (id < 0 || id >= kMaxVocabSize) Fail("{}: {} = {} is outside 0..{}", context, what, id, kMaxVocabSize - 1);
  return static_cast<int32_t>(id);
}

// A token named by tokenizer_config.json: a string, {"content": ...}, or null.
std::optional<std::string> ConfigTokenText(const Json& config, const char* key, const std::string& context) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) return io::GetString(*it, "content", context + ": " + key);
  Fail("{}: \"{}\" must be a string, an object with \"content\", or null", context, key);
}

// BOS/EOS implied by a TemplateProcessing post-processor: a special token before $A / after it.
void ApplyPostProcessor(const Json& post, Tokenizer::Impl& m, const std::string& context) {
  if (post.is_null() || !post.is_object() || TypeOf(post, context) != "TemplateProcessing") return;
  const std::string where = context + ": post_processor TemplateProcessing";
  const Json& single = io::Require(post, "single", where);
  if (!single.is_array() || single.empty()) return;
  auto special_id = [&](const Json& item) -> std::optional<int32_t> {
    if (!item.is_object() || !item.contains("SpecialToken")) return std::nullopt;
    const std::string name = io::GetString(item["SpecialToken"], "id", where);
    auto specials = post.find("special_tokens");
    if (specials != post.end() && specials->is_object() && specials->contains(name)) {
      const Json& ids = io::Require((*specials)[name], "ids", where);
      if (ids.is_array() && ids.size() == 1) return ParseId(ids[0], "special_tokens." + name + ".ids[0]", where);
    }
    return m.vocab.Find(name);
  };
  if (auto id = special_id(single.front())) m.bos_id = *id, m.add_bos = true;
  if (single.size() > 1) {
    if (auto id = special_id(single.back())) m.eos_id = *id, m.add_eos = true;
  }
}

std::unique_ptr<Tokenizer::Impl> ParseTokenizerJson(const std::string& path) {
  const Json root = io::ReadJsonFile(path);
  auto m = std::make_unique<Tokenizer::Impl>();
  m->context = path;
  const Json& model = io::Require(root, "model", path);
  const std::string where = path + ": model";
  if (const auto type = io::GetOptString(model, "type", where); type && *type != "BPE") {
    Fail("{}: unsupported tokenizer model type \"{}\" (supported: BPE)", path, *type);
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (io::GetOptString(model, key, where).value_or("") != "") {
      Fail("{}: {} is not supported (Llama/Qwen-style BPE leaves it empty)", where, key);
    }
  }
  const Json& vocab = io::Require(model, "vocab", where);
  if (!vocab.is_object()) Fail("{}: \"vocab\" must be an object {{token: id}}", where);
  if (static_cast<int64_t>(vocab.size()) > kMaxVocabSize) Fail("{}: vocab has {} entries, more than the limit {}", where, vocab.size(), kMaxVocabSize);
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (it.key().size() > kMaxTokenBytes) Fail("{}: a vocab entry is {} bytes long, over the limit {}", where, it.key().size(), kMaxTokenBytes);
    m->vocab.Set(ParseId(it.value(), "vocab[\"" + it.key() + "\"]", where), it.key());
  }
  const Json& added = root.contains("added_tokens") ? root["added_tokens"] : Json::array();
  if (!added.is_array()) Fail("{}: \"added_tokens\" must be an array", path);
  std::vector<AddedToken> added_tokens;
  for (size_t i = 0; i < added.size(); ++i) {
    const std::string w = fmt::format("{}: added_tokens[{}]", path, i);
    AddedToken t;
    t.id = ParseId(io::Require(added[i], "id", w), "id", w);
    t.content = io::GetString(added[i], "content", w);
    if (t.content.empty() || t.content.size() > kMaxTokenBytes) Fail("{}: content must be 1..{} bytes", w, kMaxTokenBytes);
    t.special = io::GetOptBool(added[i], "special", w).value_or(false);
    t.lstrip = io::GetOptBool(added[i], "lstrip", w).value_or(false);
    t.rstrip = io::GetOptBool(added[i], "rstrip", w).value_or(false);
    m->vocab.Set(t.id, t.content, /*overwrite=*/true);
    added_tokens.push_back(std::move(t));
  }
  const auto n = static_cast<size_t>(m->vocab.size());
  m->token_types.assign(n, kTokenNormal);
  m->is_added.assign(n, false);
  for (const AddedToken& t : added_tokens) {
    m->token_types[static_cast<size_t>(t.id)] = t.special ? kTokenControl : kTokenUserDefined;
    m->is_added[static_cast<size_t>(t.id)] = true;
  }
  m->added = std::make_unique<AddedTokenSplitter>(std::move(added_tokens));

  ParseNormalizer(root.value("normalizer", Json()), path, m->normalizers);
  ParsePreTokenizer(root.value("pre_tokenizer", Json()), path, m->pre_tokenizers);
  ParseDecoder(root.value("decoder", Json()), path, m->decoders);
  for (size_t i = 0; i < m->pre_tokenizers.size(); ++i) {
    if (m->pre_tokenizers[i].kind != PreTokenizerStep::Kind::kByteLevel) continue;
    if (i + 1 != m->pre_tokenizers.size()) Fail("{}: a ByteLevel pre-tokenizer must be the last one", path);
    m->byte_level = true;
  }
  if (m->byte_level) {
    const auto& first = m->pre_tokenizers.front();
    const bool split = m->pre_tokenizers.size() == 2 && first.kind == PreTokenizerStep::Kind::kSplit;
    const Json& pre = root["pre_tokenizer"];
    const std::string regex = split && pre.contains("pretokenizers") ? pre["pretokenizers"][0]["pattern"].value("Regex", "") : "";
    if (regex == kLlama3Pattern) m->gguf_pre = "llama-bpe";
    if (regex == kQwen2Pattern) m->gguf_pre = "qwen2";
    if (m->pre_tokenizers.size() == 1 && m->pre_tokenizers[0].regex) m->gguf_pre = "gpt2";
  }

  BpeOptions options;
  options.byte_level = m->byte_level;
  options.byte_fallback = io::GetOptBool(model, "byte_fallback", where).value_or(false);
  options.ignore_merges = io::GetOptBool(model, "ignore_merges", where).value_or(false);
  m->fuse_unk = io::GetOptBool(model, "fuse_unk", where).value_or(false);
  if (const auto unk = io::GetOptString(model, "unk_token", where)) {
    options.unk_id = m->vocab.Find(*unk);
    if (!options.unk_id) Fail("{}: unk_token \"{}\" is not in the vocabulary", where, *unk);
    m->unk_id = options.unk_id;
    m->token_types[static_cast<size_t>(*options.unk_id)] = kTokenUnknown;
  }
  if (options.byte_fallback) {
    for (int b = 0; b < 256; ++b) {
      if (auto id = m->vocab.Find(fmt::format("<0x{:02X}>", b))) m->token_types[static_cast<size_t>(*id)] = kTokenByte;
    }
  }
  const Json& merges = io::Require(model, "merges", where);
  if (!merges.is_array()) Fail("{}: \"merges\" must be an array", where);
  m->merges.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) m->merges.push_back(ParseMerge(merges[i], i, where));
  m->bpe = std::make_unique<BpeModel>(m->vocab, m->merges, options, path);
  ApplyPostProcessor(root.value("post_processor", Json()), *m, path);
  return m;
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::FromTokenizerJson(const std::string& path) {
  return std::unique_ptr<Tokenizer>(new Tokenizer(ParseTokenizerJson(path)));
}

std::unique_ptr<Tokenizer> Tokenizer::FromHfDir(const std::string& dir) {
  const std::filesystem::path base(dir);
  const std::string json_path = (base / "tokenizer.json").string();
  if (!std::filesystem::exists(json_path)) {
    Fail("{}: no tokenizer.json; expected a Hugging Face model directory with tokenizer.json "
         "(SentencePiece tokenizer.model alone is not supported)", dir);
  }
  std::unique_ptr<Impl> m = ParseTokenizerJson(json_path);
  const std::string config_path = (base / "tokenizer_config.json").string();
  if (std::filesystem::exists(config_path)) {
    const Json config = io::ReadJsonFile(config_path);
    if (!config.is_object()) Fail("{}: expected a JSON object", config_path);
    auto resolve = [&](const char* key, std::optional<int32_t>& id) {
      const auto text = ConfigTokenText(config, key, config_path);
      if (!text) return;
      const auto found = m->vocab.Find(*text);
      if (!found) Fail("{}: {} \"{}\" is not a token of {}", config_path, key, *text, json_path);
      id = found;
    };
    resolve("bos_token", m->bos_id);
    resolve("eos_token", m->eos_id);
    resolve("unk_token", m->unk_id);
    resolve("pad_token", m->pad_id);
    if (auto v = io::GetOptBool(config, "add_bos_token", config_path)) m->add_bos = *v;
    if (auto v = io::GetOptBool(config, "add_eos_token", config_path)) m->add_eos = *v;
  }
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(m)));
}

}  // namespace qforge::tokenizer
