// Oracle for `qforge eval`: llama-perplexity's PPL computed from llama.cpp's own forward pass (node-llama-cpp).
//
//   node perplexity.mjs --model M.gguf --text FILE [--ctx 512] [--chunks N] [--full] [--attention default|f32]
//
// --attention default: llama.cpp's own context defaults, as llama-perplexity runs them (F16 KV cache, flash
//   attention "auto", which is on for the CPU backend: K/V — and Q inside the CPU flash-attention kernel — are
//   rounded to f16). This is the number llama-perplexity prints.
// --attention f32: F32 KV cache and no flash attention, i.e. the same forward pass in f32 throughout; isolates
//   the protocol from f16 rounding (on stories260K the two differ by ~2e-4 relative in PPL).
//
// Protocol (FORMATS.md §8.1/8.2), restated here independently of qforge's C++:
//   * tokenize the whole file; prepend BOS iff the vocab says so (node-llama-cpp's tokenize() adds none);
//   * chunk k = tokens [k*ctx, (k+1)*ctx), n_chunk = min(floor(n_tokens/ctx), --chunks); tail dropped;
//   * fresh KV cache per chunk; the chunk's first token is replaced by BOS (if add_bos);
//   * score the tokens at positions first+1 .. ctx-1 with the distribution at the previous position, where
//     first = ctx/2 (or 0 with --full);
//   * PPL = exp(mean NLL), error = PPL * sqrt((mean(NLL^2) - mean(NLL)^2) / (count - 1)).
// The per-token probability comes from node-llama-cpp's greedy sampler (temperature 0), which is a float32
// softmax of llama.cpp's raw logits: its log differs from llama.cpp's double-sum log-softmax by ~1e-6.
//
// Prints one JSON object: ppl, ppl_err, count, n_chunk, n_tokens, running PPL after each chunk, and the token
// ids of the evaluated chunks as tokenized (before BOS substitution) so a caller can check its tokenizer.
import {getLlama} from "node-llama-cpp";
import {readFileSync} from "node:fs";

function ParseArgs(argv) {
  const args = {ctx: 512, chunks: -1, full: false, threads: 1, attention: "default"};
  for (let i = 2; i < argv.length; ++i) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--model") args.model = next();
    else if (a === "--text") args.text = next();
    else if (a === "--ctx") args.ctx = parseInt(next(), 10);
    else if (a === "--chunks") args.chunks = parseInt(next(), 10);
    else if (a === "--full") args.full = true;
    else if (a === "--threads") args.threads = parseInt(next(), 10);
    else if (a === "--attention") args.attention = next();
    else throw new Error(`unknown argument ${a}`);
  }
  if (!args.model || !args.text) throw new Error("usage: --model M.gguf --text FILE [--ctx N] [--chunks N] [--full]");
  if (!(args.ctx >= 4) || args.ctx % 2 !== 0) throw new Error(`--ctx must be an even number >= 4, got ${args.ctx}`);
  if (args.attention !== "default" && args.attention !== "f32") throw new Error(`--attention default|f32, got ${args.attention}`);
  return args;
}

const args = ParseArgs(process.argv);
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath: args.model});
const text = readFileSync(args.text, "utf8");

const add_bos = model.tokens.shouldPrependBosToken;
const bos = model.tokens.bos;
let tokens = Array.from(model.tokenize(text, false));
if (add_bos) tokens = [bos, ...tokens];

const ctx = args.ctx;
if (tokens.length < 2 * ctx) throw new Error(`need at least ${2 * ctx} tokens, the text has ${tokens.length}`);
let n_chunk = Math.floor(tokens.length / ctx);
if (args.chunks >= 0 && args.chunks < n_chunk) n_chunk = args.chunks;
const first = args.full ? 0 : ctx / 2;

// Explicit threads: the default thread setting made decoding ~5x slower on a 2-core machine.
const attention = args.attention === "f32"
  ? {flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32"}
  : {};
const context = await model.createContext({contextSize: ctx, batchSize: ctx, sequences: 1, threads: args.threads,
                                           ...attention});
if (context.contextSize < ctx) throw new Error(`context size ${context.contextSize} < ${ctx}`);
const sequence = context.getSequence();

let nll = 0, nll2 = 0, count = 0;
const running = [];
for (let k = 0; k < n_chunk; ++k) {
  const chunk = tokens.slice(k * ctx, (k + 1) * ctx);
  if (add_bos) chunk[0] = bos;
  await sequence.clearHistory();
  // A distribution is needed after positions first .. ctx-2.
  const input = chunk.map((t, i) => (i >= first && i < ctx - 1) ? [t, {generateNext: {probabilities: true}}] : t);
  const out = await sequence.controlledEvaluate(input);
  for (let i = first; i < ctx - 1; ++i) {
    const probs = out[i]?.next?.probabilities;
    if (probs == null) throw new Error(`chunk ${k}: no probabilities at position ${i}`);
    const p = probs.get(chunk[i + 1]);
    if (!(p > 0)) throw new Error(`chunk ${k}: probability of token ${chunk[i + 1]} at ${i} is ${p}`);
    const v = -Math.log(p);
    nll += v;
    nll2 += v * v;
    ++count;
  }
  running.push(Math.exp(nll / count));
}

const mean = nll / count;
const variance = nll2 / count - mean * mean;
const ppl = Math.exp(mean);
const result = {
  model: args.model, attention: args.attention, ctx, first, full: args.full, add_bos, bos, n_tokens: tokens.length, n_chunk, count, ppl,
  ppl_err: variance > 0 ? ppl * Math.sqrt(variance / (count - 1)) : 0,
  running,
  tokens: tokens.slice(0, n_chunk * ctx),
};
process.stdout.write(JSON.stringify(result) + "\n");
await context.dispose();
await model.dispose();
await llama.dispose();
