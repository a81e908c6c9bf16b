// Oracle: per-token log-probabilities and greedy continuations from llama.cpp (node-llama-cpp 3.21.1, CPU).
//
// Usage: node llama_logprobs.mjs MODEL.gguf REQUEST.json
// REQUEST: {"prompts": ["text", ...], "greedy_from_bos": N}
// Prints JSON to stdout:
//   {"bos": id, "n_vocab": V,
//    "prompts": [{"text": "...", "tokens": [BOS, ...],            // llama.cpp's own tokenization, BOS first
//                 "logprobs": [[V floats], ...]}],                 // row i: log p(. | tokens[0..i])
//    "greedy": [ids...]}                                           // N greedy tokens after BOS alone
// Probabilities come from controlledEvaluate with generateNext.probabilities (softmax of the raw logits,
// temperature 0 = no sampler transforms); tokens with probability 0 are reported as -1e30.
import fs from "node:fs";
import { getLlama } from "node-llama-cpp";

const [modelPath, requestPath] = process.argv.slice(2);
if (!modelPath || !requestPath) {
  console.error("usage: node llama_logprobs.mjs MODEL.gguf REQUEST.json");
  process.exit(2);
}
const request = JSON.parse(fs.readFileSync(requestPath, "utf8"));
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const model = await llama.loadModel({ modelPath });
// F32 KV cache (llama.cpp defaults to F16, which alone moves log-probs by ~1e-4) and no flash attention:
// the oracle then computes in F32 throughout, like qforge.
const context = await model.createContext({
  contextSize: 256, batchSize: 256, threads: 1, flashAttention: false,
  experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
});
const bos = model.tokens.bos;
const seq = context.getSequence();

function logprobRow(probabilities, vocab) {
  const row = new Array(vocab).fill(-1e30);
  for (const [tok, p] of probabilities) if (p > 0) row[tok] = Math.log(p);
  return row;
}

const nTokens = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
const out = { bos, n_vocab: nTokens, prompts: [], greedy: [] };

for (const text of request.prompts ?? []) {
  const tokens = [bos, ...model.tokenize(text)];
  await seq.clearHistory();
  const items = tokens.map((t) => [t, { generateNext: { probabilities: true } }]);
  const res = await seq.controlledEvaluate(items);
  const logprobs = res.map((r) => logprobRow(r.next.probabilities, nTokens));
  out.prompts.push({ text, tokens, logprobs });
}

if (request.greedy_from_bos) {
  await seq.clearHistory();
  let input = [bos];
  for (let i = 0; i < request.greedy_from_bos; ++i) {
    const res = await seq.controlledEvaluate([[input[0], { generateNext: { token: true, options: { temperature: 0 } } }]]);
    const tok = res[0].next.token;
    out.greedy.push(tok);
    input = [tok];
  }
}
process.stdout.write(JSON.stringify(out));
await context.dispose();
await model.dispose();
await llama.dispose();
