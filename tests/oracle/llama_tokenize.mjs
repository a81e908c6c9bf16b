// Oracle for GGUF vocabularies in src/tokenizer: llama.cpp (through node-llama-cpp, CPU build shipped in
// node_modules) tokenizes every line of a corpus with the vocabulary of a GGUF file.
//
// usage: node llama_tokenize.mjs <model.gguf> <corpus.jsonl>
//   corpus.jsonl: one JSON string literal per line.
// prints one JSON array of token ids per corpus line: llama_tokenize(text, add_special = false,
// parse_special = true), i.e. control tokens written in the text are recognised, no BOS is added.
import { readFileSync } from "node:fs";
import { getLlama } from "node-llama-cpp";

const [modelPath, corpusPath] = process.argv.slice(2);
if (!corpusPath) {
  console.error("usage: node llama_tokenize.mjs <model.gguf> <corpus.jsonl>");
  process.exit(2);
}
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const model = await llama.loadModel({ modelPath, vocabOnly: true });
const lines = readFileSync(corpusPath, "utf8").split("\n").filter((l) => l.length > 0);
const out = [];
for (const line of lines) {
  const text = JSON.parse(line);
  out.push(JSON.stringify(Array.from(model.tokenize(text, true))));
}
process.stdout.write(out.join("\n") + "\n");
await model.dispose();
await llama.dispose();
