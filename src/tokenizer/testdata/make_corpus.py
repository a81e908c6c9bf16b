#!/usr/bin/env python3
"""Writes tokenizer_corpus.jsonl: the strings the tokenizer oracle test encodes (one JSON string per line).

Hand-written cases cover each rule of the pre-tokenizers and normalizers; seeded random mixes of the same
character classes add volume. Re-running reproduces the file byte for byte (fixed seed)."""
import json
import random
import sys
from pathlib import Path

HAND = [
    "", " ", "  ", "\n", "\t", "\r\n", "a", "Hello world", "Hello  world", " Hello world ",
    "Once upon a time, there was a little girl named Lily.", "She liked to play outside in the sun.",
    "The cat sat on the mat.", "\"Can I have one?\" asked Tom. \"No!\" said Mom.",
    "I'm sure it's fine, you'll see. We've done it; they'd agree. I'M SURE IT'S FINE, YOU'LL SEE.",
    "don't DON'T Don'T o'clock rock'n'roll", "'s 't 're 've 'm 'll 'd", "x's y'S z'Re", "''''", "' s",
    "1", "12", "123", "1234", "12345", "123456789012", "3.14159", "1,000,000", "-42", "+7e-10", "0x1F",
    "2024-01-15T12:34:56Z", "v1.2.3", "Call 555-1234 now", "٣٤٥ ١٢", "१२३४", "①②③", "Ⅻ", "½ ¾",
    "café", "cafe\u0301", "naïve", "nai\u0308ve", "Å", "A\u030a", "\u212b", "ñ n\u0303", "Ǆ ǅ ǆ", "ﬁ ﬂ",
    "e\u0301\u0301", "o\u0308\u0304", "\u1e9b\u0323", "Straße STRASSE", "İstanbul ıi", "ſ ẞ",
    "Привет, мир!", "Ελληνικά γράμματα", "עברית שלום", "مرحبا بالعالم", "नमस्ते दुनिया", "สวัสดีครับ",
    "你好，世界！", "我爱自然语言处理。", "日本語のテキストです。", "カタカナとひらがな", "한국어 텍스트 입니다",
    "中文English混合text", "東京2024オリンピック", "𠀀𠀁𪚥", "漢字\n改行", "「引用」『二重』",
    "😀", "😀😃😄", "👍🏽", "👨‍👩‍👧‍👦", "🇩🇪🇯🇵", "❤️", "☃ ★ ♥", "🤖 robots 🤖", "emoji😀inside", "🏳️‍🌈",
    "a\u200bb", "zero\u200dwidth", "soft\u00adhyphen", "nbsp\u00a0here", "ideographic\u3000space",
    "en\u2002em\u2003thin\u2009", "line\u2028sep\u2029para", "tab\there", "many\t\t\ttabs",
    "trailing   ", "   leading", "a    b", "a \n b", "a\n\nb", "a\n\n\nb", "a \n\n b", "a\r\nb\r\n",
    " \n \n ", "\n\n\n\n", "     \n", "word\n", "\nword", "x \t y", "end.  \n  start",
    "def f(x):\n    return x * 2\n", "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "#include <stdio.h>\nint main() { printf(\"hi\\n\"); }", "if x != None and y >= 3:\n\tpass",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}", "SELECT * FROM t WHERE id = 42;",
    "const f = (a, b) => a ?? b;", "x += 1; y -= 2; z **= 3", "fn main() -> Result<(), Box<dyn Error>> {}",
    "<html><body class=\"x\">Hi</body></html>", "https://example.com/path?q=1&r=2#frag",
    "user@example.com", "C:\\Windows\\System32", "/usr/local/bin/python3", "$HOME ~/.bashrc",
    "!!!???...", "---", "***", "===", "...", "!@#$%^&*()_+-=[]{}|;':\",./<>?", "``` code ```",
    "a-b_c.d/e\\f", "(parenthesis)", "[brackets]", "{braces}", "«guillemets» „quotes“ ‘single’",
    "—em dash– en dash", "…ellipsis", "•bullet", "°C ±5 µm ×÷", "∑∫√∞≈≠≤≥", "→ ← ↑ ↓ ⇒",
    "€100 £50 ¥1000 ₹20 $5", "©®™", "§¶†‡", "\u2581", "\u2581\u2581", "a\u2581b", " \u2581 ",
    "<unk>", "<s>", "</s>", "<0x41>", "<|start_story|>", "<|end_story|>",
    "<|start_story|>Once upon a time<|end_story|>", " <|start_story|> x", "a<|end_story|>b",
    "<|start_story|><|end_story|>", "<|begin_of_text|>", "<|end_of_text|>",
    "<|begin_of_text|>Hello<|end_of_text|>", "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
    " <|eot_id|> ", "<|reserved_special_token_5|>", "<|im_start|>", "<|im_end|>", "<|endoftext|>",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>",
    "<think>\nhmm\n</think>", "<tool_call>{}</tool_call>", "<|vision_start|><|image_pad|><|vision_end|>",
    "<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>", "<|im_start", "im_start|>", "<|<|im_end|>|>",
    "<|endoftext|><|endoftext|>", "text<|im_end|>text", "<|im_end|> <|im_start|>",
    "supercalifragilisticexpialidocious", "Pneumonoultramicroscopicsilicovolcanoconiosis",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "ab" * 60, "the " * 40, "0123456789" * 8, "😀" * 20, "中" * 50, " " * 33, "\n" * 17, "-" * 70,
    "CamelCaseIdentifier", "snake_case_identifier", "SCREAMING_SNAKE", "kebab-case-word",
    "HTTPServerError", "iPhone", "McDonald's", "U.S.A.", "e.g. i.e. etc.", "Mr. Smith", "3rd 21st 100th",
    "Tom's dog's ball", "the '90s", "'quoted'", "\"double\"", "rock 'n' roll", "It's 5 o'clock.",
    "Lily and Ben were best friends. They liked to play in the park.",
    " = Robert Boulter = \n", " @-@ ", "1 @,@ 000", " The game 's soundtrack was composed by Hitoshi Sakimoto .",
    "Mixed 中文 and English and 日本語 and 한국어 and emoji 🎉 together!",
    "\u0000null", "bell\u0007char", "esc\u001b[0m", "del\u007f", "\u00ff\u00fe", "Ā ā Ă ă", "\uffff", "\ufffd",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝐁𝐨𝐥𝐝", "ｆｕｌｌｗｉｄｔｈ　ＡＢＣ", "ﾊﾝｶｸ", "Ꭰ Ꮳ", "ᚠᛇᚻ", "ꦲꦤꦕꦫꦏ", "ⓐⓑⓒ",
]

POOLS = {
    "ascii": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "digit": "0123456789",
    "space": [" ", " ", " ", "  ", "\t", "\n", "\n\n", "\r\n", " \n", "\u00a0", "\u3000"],
    "punct": list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + ["'s", "'ll", "'T", "...", "—"],
    "latin": list("àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿßœšžłđ") + ["e\u0301", "a\u0308", "o\u0303"],
    "cyr": list("абвгдежзийклмнопрстуфхцчшщыэюяАБВГД"),
    "cjk": list("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可里后"),
    "kana": list("あいうえおかきくけこさしすせそアイウエオカキクケコ"),
    "hangul": list("가나다라마바사아자차카타파하한국어"),
    "emoji": ["😀", "🎉", "👍", "👍🏿", "🚀", "❤️", "🇫🇷", "👩‍💻", "🙈", "✨", "🔥", "🐍"],
    "special": ["<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>", "<|im_end|>", "<|endoftext|>",
                "<|start_story|>", "<|end_story|>", "<|eot_id|>", "<s>", "</s>", "<unk>"],
    "word": ["the", "The", "and", "once", "upon", "time", "little", "happy", "tokenizer", "quantization",
             "llama", "Qwen", "GPU", "int8", "fp16", "hello", "world", "café", "東京", "naïve"],
}


def RandomSample(rng):
    kinds = list(POOLS)
    weights = [6, 3, 5, 4, 2, 1, 2, 1, 1, 2, 1, 5]
    parts = []
    for _ in range(rng.randint(1, 14)):
        kind = rng.choices(kinds, weights)[0]
        pool = POOLS[kind]
        n = 1 if kind in ("special", "word", "emoji") else rng.randint(1, 6)
        parts.append("".join(rng.choice(pool) for _ in range(n)))
        if rng.random() < 0.5:
            parts.append(" ")
    return "".join(parts)


def main():
    rng = random.Random(20240611)
    samples = list(HAND)
    while len(samples) < 420:
        samples.append(RandomSample(rng))
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("tokenizer_corpus.jsonl"))
    out.write_text("".join(json.dumps(s, ensure_ascii=True) + "\n" for s in samples))
    print(f"{out}: {len(samples)} samples")


if __name__ == "__main__":
    main()
