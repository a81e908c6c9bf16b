// Reference decode speed: llama.cpp (node-llama-cpp 3.21.1, prebuilt CPU backend) on a GGUF file.
// Usage: node decode_speed.mjs MODEL.gguf N_PROMPT N_DECODE THREADS
// Prints JSON {"prefill_tok_s": x, "decode_tok_s": y}: prefill of N_PROMPT tokens (BOS + token 1 repeated…),
// then N_DECODE greedy single-token steps, timed separately. Used by scripts/bench-vs-llamacpp.sh.
import { getLlama } from "node-llama-cpp";

const [modelPath, nPromptS, nDecodeS, threadsS] = process.argv.slice(2);
const nPrompt = Number(nPromptS ?? 128), nDecode = Number(nDecodeS ?? 32), threads = Number(threadsS ?? 2);
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({ contextSize: nPrompt + nDecode + 8, batchSize: nPrompt + 1, threads });
const seq = context.getSequence();
const vocab = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
const prompt = [model.tokens.bos];
let s = 12345;
for (let i = 0; i < nPrompt; ++i) { s = (s * 1103515245 + 12345) % 2147483648; prompt.push(3 + (s % (vocab - 3))); }
let t0 = performance.now();
const items = prompt.map((t, i) => [t, i === prompt.length - 1 ? { generateNext: { token: true, options: { temperature: 0 } } } : {}]);
let res = await seq.controlledEvaluate(items);
const prefillS = (performance.now() - t0) / 1000;
let tok = res[res.length - 1].next.token;
t0 = performance.now();
for (let i = 0; i < nDecode; ++i) {
  res = await seq.controlledEvaluate([[tok, { generateNext: { token: true, options: { temperature: 0 } } }]]);
  tok = res[0].next.token;
}
const decodeS = (performance.now() - t0) / 1000;
process.stdout.write(JSON.stringify({ prefill_tok_s: prompt.length / prefillS, decode_tok_s: nDecode / decodeS }) + "\n");
