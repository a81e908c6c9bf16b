// Per-token log-probabilities of a token sequence under llama.cpp (node-llama-cpp, prebuilt CPU backend).
//
//   node logprobs.mjs MODEL.gguf 1,415,29871,... [--all]
//
// Prints one JSON object: {"n_vocab": V, "logprobs": [lp_1, ..., lp_{n-1}]} where lp_i = log P(t_i | t_0..t_{i-1}),
// and with --all also "rows": [[log P(v | t_0..t_{i-1}) for v in 0..V-1] for i in 1..n-1]. Tokens are given as
// ids (no tokenization, no BOS added). Probabilities come from llama.cpp's own softmax of the logits with a
// greedy sampler (temperature 0: no truncation, no penalties).
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const [modelPath, tokenArg, ...flags] = process.argv.slice(2);
if (!modelPath || !tokenArg) {
  console.error("usage: node logprobs.mjs MODEL.gguf TOKEN_IDS(comma-separated) [--all]");
  process.exit(2);
}
const tokens = tokenArg.split(",").map((s) => Number.parseInt(s, 10));
const all = flags.includes("--all");

const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
// F32 KV cache and no flash attention: llama.cpp then computes in F32 throughout (its default F16 cache alone
// moves log-probs by ~1e-4..1e-2), so files with identical tensors give identical log-probs.
const context = await model.createContext({
  contextSize: Math.max(64, tokens.length + 1), batchSize: Math.max(1, tokens.length), threads: 1,
  flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
});
const sequence = context.getSequence();

const input = tokens.map((t, i) =>
  i + 1 < tokens.length ? [t, { generateNext: { probabilities: true, options: { temperature: 0 } } }] : t);
const results = await sequence.controlledEvaluate(input);

const logprobs = [];
const rows = [];
for (let i = 0; i + 1 < tokens.length; ++i) {
  const probs = results[i]?.next?.probabilities;
  if (!probs) throw new Error(`no probabilities for position ${i}`);
  const p = probs.get(tokens[i + 1]) ?? 0;
  logprobs.push(p > 0 ? Math.log(p) : -1e30);  // -1e30: probability underflowed to 0 in float32
  if (all) {
    const row = new Array(probs.size);
    row.fill(-1e30);
    for (const [tok, q] of probs) if (q > 0) row[tok] = Math.log(q);
    rows.push(row);
  }
}
const out = { n_vocab: results[0]?.next?.probabilities?.size ?? 0, logprobs };
if (all) out.rows = rows;
process.stdout.write(JSON.stringify(out) + "\n");
await context.dispose();
await model.dispose();
await llama.dispose();
