"""Qwen2 BPE + CosyVoice3 added tokens (spec §3.2).

Tiers:
 * the special-token id table of the spec, and Hugging Face's own AddedVocabulary assigning ids
   when the 280-entry upstream list is added to a BlankEN-like base (Node binding);
 * token ids for a corpus of several hundred varied strings against Hugging Face tokenizers
   (official Node binding, run in a subprocess): once with a tokenizer.json that has the added
   tokens appended (special: true), once with HF adding them itself via addSpecialTokens;
 * decode against HF; a BlankEN-style directory (vocab.json/merges.txt/tokenizer_config.json)
   loads to the same tokenizer; BPE merge order on a hand-made vocabulary.
Expected ids are produced by HF during the test, never typed by hand (except the spec table).
"""
import json
import random
import unicodedata

import pytest

import _front_helpers as H
from cosyvoice_export.frontend import tokenizer as T

pytestmark = pytest.mark.skipif(not H.QWEN2_TOKENIZER_JSON.exists(),
                                reason="third_party/qwen2-tokenizer/tokenizer.json missing: run "
                                       "scripts/setup/fetch-npm-assets.sh")


_TOK = None


def cv3():
    global _TOK
    if _TOK is None:
        _TOK = T.CosyVoice3Tokenizer(H.QWEN2_TOKENIZER_JSON, max_base_added_id=T.BLANKEN_LAST_ADDED_ID)
    return _TOK


def _needs_node():
    if H.node_binary() is None or not H.HF_NODE_TOKENIZERS.exists():
        pytest.skip("node or third_party/node/tokenizers missing (run scripts/setup/fetch-npm-assets.sh)")


# ------------------------------------------------------------------------------------ corpus

_HANDWRITTEN = [
    "", " ", "  ", "\t", "\n", "\r\n", "a", "A", "Hello world", "Hello, world!", " leading space", "trailing space ",
    "multiple   spaces   inside", "tabs\tand\ttabs", "new\nline", "cr\rreturn", "crlf\r\nline", "\n\n\nmany newlines\n\n",
    "nbsp\u00a0inside", "ideographic\u3000space", "mixed \t\r\n\u00a0\u3000 whitespace", "zero\u200bwidth", "ｆｕｌｌ ｗｉｄｔｈ",
    "It's", "IT'S", "he'll", "HE'LL", "they're", "we've", "I'm", "you'd", "don't", "'s", " 's", "O'Neil's",
    "Rock 'n' roll", "quote\"inside\"", "“curly quotes”", "‘single’", "«guillemets»",
    "12345", "3.14159", "1,000,000", "2024-11-23", "v1.2.3", "+49 (0)30 1234567", "0x1F", "１２３", "٣٤٥", "一二三",
    "你好，世界！", "今天天气很好。我们去公园散步吧？", "希望你以后能够做的比我还好呦。", "收到好友从远方寄来的生日礼物，那份意外的惊喜与深深的祝福让我心中充满了甜蜜的快乐。",
    "請用廣東話表達。", "佢哋今日去咗邊度呀？", "我哋一齊去飲茶啦", "你係唔係傻㗎", "乜嘢事？",
    "こんにちは、世界。", "カタカナとひらがなと漢字", "ｶﾀｶﾅ", "안녕하세요 세계", "한국어 문장입니다.",
    "Привет, мир!", "Съешь же ещё этих мягких французских булок.", "Grüße aus München, Straße!", "Fußgängerübergänge",
    "Ça va? Où est la bibliothèque? L'été à l'hôtel.", "¿Dónde está el baño? ¡Olé! Niño, año.",
    "Perché è così? L'università è là.", "Ελληνικά γράμματα", "עברית מימין לשמאל", "العربية من اليمين",
    "हिन्दी भाषा", "ภาษาไทย", "Tiếng Việt có dấu", "Zażółć gęślą jaźń", "Dvořák", "ﬁ ligature ﬂ",
    "😀", "👍🏽", "👨‍👩‍👧‍👦 family", "🇨🇳🇺🇸 flags", "❤️ emoji with VS16", "mixed 😀 text 你好 123",
    "e\u0301", "cafe\u0301", "Å vs A\u030a", "\u1100\u1161\u11a8", "n\u0303", "a\u0308\u0304", "\u0301 leading combining",
    "ctrl\x00nul", "bell\x07", "esc\x1b[0m", "\x1c\x1d\x1e\x1f separators", "del\x7f", "\x85next line", "\u2028line sep",
    "\ufeffbom", "\ufffd replacement", "\U0001d400 math bold", "𠀀 ext-b", "\ue000 private use",
    "<|endofprompt|>", "You are a helpful assistant.<|endofprompt|>希望你以后能够做的比我还好呦。",
    "You are a helpful assistant. 请用广东话表达。<|endofprompt|>", "<|endoftext|>", "<|im_start|>user\nhi<|im_end|>",
    "[breath]", "[breath][breath]", "text [breath] text", "<strong>strong</strong>", "<laughter>haha</laughter>",
    "[laughter][cough][clucking][accent][quick_breath][hissing][sigh][vocalized-noise][lipsmack][mn][noise]",
    "<|endofsystem|>", "[j][ǐ]", "[AA1]", "[a]", "[ai][an][ang]", "[ǜ]", "[ià]", "[iàng][iàn][ià]", "[uǎng]",
    "你好[j][ǐ]世界", "read [R][EH1][D] aloud", "[a ]", "[ a]", "[A]", "[AA]x", "x[ZH]", "<|endofprompt", "endofprompt|>",
    "<|endofprompt|><|endofprompt|>", "<strong><strong>", "</strong", "<|im_end|>[breath]<strong>",
    "[breath]" * 5 + "end", "a<|endoftext|>b", "[a][b][c][d][e]", "<|endofprompt|>\n",
    "Please say a sentence as loudly as possible.", "我想体验一下小猪佩奇风格，可以吗？",
    "你可以尝试用机器人的方式解答吗？", "请非常开心地说一句话。",
    "    indented code\n        more", "def f(x):\n\treturn x**2  # comment", "<html><body>&amp;</body></html>",
    "https://example.com/path?q=1&b=2#frag", "user@example.com", "C:\\Windows\\path", "$100.00 €50 £3 ¥1000",
    "~!@#$%^&*()_+-=[]{}|;':\",./<>?", "...", "!!!???", "—–-", "•·…", "(parenthetical)", "snake_case_name",
    "CamelCaseWordsHere", "ALLCAPSWORD", "miXeD CaSe", "a1b2c3", "abc123def", "x²+y³", "H₂O", "½ ¼ ¾",
]


def _random_strings(n, seed):
    rnd = random.Random(seed)
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789", " \t\n\r\u00a0\u3000", ".,;:!?'\"-()[]{}<>/\\|@#$%^&*_+=~`",
        "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理府研质",
        "ぁあいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをんアイウエオカキクケコ",
        "가나다라마바사아자차카타파하한국어문장",
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГД",
        "äöüßÄÖÜéèêëàâçîïôûùñáíóú",
        "😀😃😄😁🙂🤔👍🏽❤️🇨🇳\u200d",
        "\u0300\u0301\u0302\u0303\u0308\u030a\u0327",
        "\x00\x01\x07\x0b\x0c\x1b\x1c\x1f\x7f\x85",
    ]
    specials = ["<|endofprompt|>", "[breath]", "<strong>", "</strong>", "[laughter]", "[j]", "[ǐ]", "[AA1]",
                "<|endoftext|>", "<|im_start|>", "[a]", "[ià]", "<|endofsystem|>"]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rnd.randint(1, 12)):
            r = rnd.random()
            if r < 0.12:
                parts.append(rnd.choice(specials))
            else:
                pool = rnd.choice(pools)
                parts.append("".join(rnd.choice(pool) for _ in range(rnd.randint(1, 10))))
        out.append("".join(parts))
    return out


def _long_strings():
    zh = "收到好友从远方寄来的生日礼物那份意外的惊喜与深深的祝福让我心中充满了甜蜜的快乐笑容如花儿般绽放"
    return [
        zh * 60,                                               # ~2,700 CJK characters, one pre-token
        ("The quick brown fox jumps over the lazy dog. " * 80),
        "a" * 3000,                                            # a single 3,000-letter word
        "ab" * 1500,
        "9" * 2000,
        " " * 500 + "x",
        "\n" * 300,
        "😀" * 400,
        "".join(chr(0x4E00 + (i * 37) % 20000) for i in range(2000)),
        ("[breath]你好<|endofprompt|>hello " * 150),
    ]


def corpus():
    return _HANDWRITTEN + _random_strings(300, seed=7) + _long_strings()


# ------------------------------------------------------------------------------------ Node runner

_NODE_SCRIPT = r"""
const fs = require('fs');
const inp = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const { Tokenizer } = require(inp.module);
(async () => {
  const out = {};
  const variants = {};
  variants.json = Tokenizer.fromFile(inp.withAdded);
  const base = Tokenizer.fromFile(inp.base);
  base.addSpecialTokens([inp.eos]);
  base.addSpecialTokens(inp.specials);
  variants.added = base;
  out.addedIds = inp.specials.map(s => base.tokenToId(s));
  out.vocabSize = base.getVocabSize(true);
  for (const [name, tok] of Object.entries(variants)) {
    const ids = [];
    for (const t of inp.texts) {
      const e = await tok.encode(t, null, { addSpecialTokens: false });
      ids.push(Array.from(e.getIds()));
    }
    out[name] = ids;
  }
  out.decodeKeep = [];
  out.decodeSkip = [];
  for (const ids of inp.decodeIds) {
    out.decodeKeep.push(await variants.json.decode(ids, false));
    out.decodeSkip.push(await variants.json.decode(ids, true));
  }
  process.stdout.write(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(1); });
"""

_HF = None


def hf_results(tmp_dir):
    """Run HF once for the whole module (cached)."""
    global _HF
    if _HF is not None:
        return _HF
    tok = cv3()
    with open(H.QWEN2_TOKENIZER_JSON, encoding="utf-8") as f:
        d = json.load(f)
    d["added_tokens"] = [a for a in d["added_tokens"] if a["id"] <= T.BLANKEN_LAST_ADDED_ID]   # BlankEN base
    base = tmp_dir / "blanken_base.json"
    base.write_text(json.dumps(d, ensure_ascii=False), encoding="utf-8")
    have = {a["content"] for a in d["added_tokens"]}
    for s in T.CV3_SPECIAL_TOKENS:
        if s in have:
            continue
        d["added_tokens"].append({"id": tok.token_to_id(s), "content": s, "single_word": False, "lstrip": False,
                                  "rstrip": False, "normalized": False, "special": True})
    with_added = tmp_dir / "cv3_tokenizer.json"
    with_added.write_text(json.dumps(d, ensure_ascii=False), encoding="utf-8")
    texts = corpus()
    decode_ids = [tok.encode(t) for t in texts[:200]] + [[151646, 151647, 9707, 151850, 151923, 220]]
    payload = {"module": str(H.HF_NODE_TOKENIZERS), "base": str(base), "withAdded": str(with_added),
               "eos": T.CV3_EOS_TOKEN, "specials": T.CV3_SPECIAL_TOKENS, "texts": texts, "decodeIds": decode_ids}
    _HF = dict(H.run_node(_NODE_SCRIPT, payload), texts=texts, decode_ids=decode_ids)
    return _HF


# ------------------------------------------------------------------------------------ tests

def test_special_token_table_of_the_spec():
    tok = cv3()
    expect = {"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645,
              "<|endofprompt|>": 151646, "[breath]": 151647, "<strong>": 151648, "</strong>": 151649,
              "[noise]": 151650, "[laughter]": 151651, "[cough]": 151652, "[clucking]": 151653, "[accent]": 151654,
              "[quick_breath]": 151655, "<laughter>": 151656, "</laughter>": 151657, "[hissing]": 151658,
              "[sigh]": 151659, "[vocalized-noise]": 151660, "[lipsmack]": 151661, "[mn]": 151662,
              "<|endofsystem|>": 151663, "[AA]": 151664, "[AA0]": 151665, "[ZH]": 151747, "[a]": 151748,
              "[ǜ]": 151923}
    for s, i in expect.items():
        assert tok.token_to_id(s) == i, s
    assert len(T.CV3_SPECIAL_TOKENS) == 280 and len(set(T.CV3_SPECIAL_TOKENS)) == 280
    assert len(T.CV3_CMU_TOKENS) == 84 and len(T.CV3_PINYIN_TOKENS) == 176
    ids = [tok.token_to_id(s) for s in T.CV3_SPECIAL_TOKENS[2:]]
    assert ids == list(range(151646, 151924))
    assert len(tok) == 151924 and tok.endofprompt_id == T.ENDOFPROMPT_ID


def test_added_ids_follow_hf_rules_on_other_bases():
    # On the full Qwen2.5 vocabulary (22 added tokens) HF's rule continues after 151664.
    tok = T.CosyVoice3Tokenizer(H.QWEN2_TOKENIZER_JSON)
    assert tok.token_to_id("<|endofprompt|>") == 151665
    # A string already in the BPE vocabulary keeps its id (no new id is created).
    base = T.Qwen2Tokenizer.from_path(H.QWEN2_TOKENIZER_JSON, max_added_id=T.BLANKEN_LAST_ADDED_ID)
    assert base.add_special_tokens(["hello", "<|im_end|>", "[brand-new]"]) == 1
    assert base.token_to_id("hello") == base.vocab["hello"] and base.token_to_id("[brand-new]") == 151646
    assert base.encode("say hello") == [base.vocab["say"], base.vocab["Ġ"], base.vocab["hello"]]


def test_hf_assigns_the_same_ids(tmp_path):
    _needs_node()
    hf = hf_results(tmp_path)
    tok = cv3()
    assert hf["addedIds"] == [tok.token_to_id(s) for s in T.CV3_SPECIAL_TOKENS]
    assert hf["vocabSize"] == len(tok) == 151924


def test_encode_matches_hf_on_corpus(tmp_path):
    _needs_node()
    hf = hf_results(tmp_path)
    tok = cv3()
    texts = hf["texts"]
    assert len(texts) >= 400
    mismatches = []
    for i, t in enumerate(texts):
        got = tok.encode(t)
        if got != hf["json"][i] or got != hf["added"][i]:
            mismatches.append((t[:60], got[:20], hf["json"][i][:20], hf["added"][i][:20]))
    assert not mismatches, "%d/%d differ, e.g. %r" % (len(mismatches), len(texts), mismatches[:3])


def test_decode_matches_hf(tmp_path):
    _needs_node()
    hf = hf_results(tmp_path)
    tok = cv3()
    for ids, keep, skip in zip(hf["decode_ids"], hf["decodeKeep"], hf["decodeSkip"]):
        assert tok.decode(ids, skip_special_tokens=False) == keep
        assert tok.decode(ids, skip_special_tokens=True) == skip
    assert tok.decode(tok.encode("你好 world")) == "你好 world"


def test_roundtrip_without_added_tokens():
    tok = cv3()
    for t in _HANDWRITTEN + _long_strings()[:4]:
        if any(s in t for s in tok.added):
            continue
        assert tok.decode(tok.encode(t)) == unicodedata.normalize("NFC", t)


def test_blanken_directory_loads_the_same(tmp_path):
    with open(H.QWEN2_TOKENIZER_JSON, encoding="utf-8") as f:
        d = json.load(f)
    (tmp_path / "vocab.json").write_text(json.dumps(d["model"]["vocab"], ensure_ascii=False), encoding="utf-8")
    merges = [m if isinstance(m, str) else " ".join(m) for m in d["model"]["merges"]]
    (tmp_path / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    cfg = {"added_tokens_decoder": {str(a["id"]): {k: v for k, v in a.items() if k != "id"}
                                    for a in d["added_tokens"] if a["id"] <= T.BLANKEN_LAST_ADDED_ID},
           "tokenizer_class": "Qwen2Tokenizer"}
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(cfg), encoding="utf-8")
    a = T.CosyVoice3Tokenizer(tmp_path)
    b = cv3()
    assert len(a) == len(b) and a.added.keys() == b.added.keys()
    for t in _HANDWRITTEN + _random_strings(50, seed=3):
        assert a.encode(t) == b.encode(t)


def test_bpe_merge_order_on_a_tiny_vocabulary():
    vocab = {c: i for i, c in enumerate("abcd")}
    vocab.update({"bc": 4, "ab": 5, "abc": 6, "cd": 7, "bcd": 8})
    merges = [("b", "c"), ("a", "b"), ("a", "bc"), ("c", "d"), ("bc", "d")]
    tok = T.Qwen2Tokenizer(vocab, merges)
    # "abc": (b,c) has rank 0 < (a,b) 1 -> a|bc -> (a,bc) rank 2 -> abc
    assert tok.encode("abc") == [6]
    # "abcd": bc first, then (a,bc) rank 2 beats (bc,d) rank 4 -> abc|d
    assert tok.encode("abcd") == [6, 3]
    # "bcbc": both (b,c) merge (leftmost first), the result has no merge
    assert tok.encode("bcbc") == [4, 4]
    # "cd" and "abab" (no (b,a) merge) -> ab|ab
    assert tok.encode("cd") == [7] and tok.encode("abab") == [5, 5]


def test_bytes_to_unicode_is_a_bijection():
    m = T.bytes_to_unicode()
    assert len(m) == 256 and len(set(m.values())) == 256
    assert m[ord("A")] == "A" and m[ord(" ")] == "Ġ" and m[ord("\n")] == "Ċ"


def test_added_tokens_match_before_normalisation():
    tok = cv3()
    # adjacent added tokens split cleanly
    assert tok.encode("<|endofprompt|>[breath]") == [151646, 151647]
    # added tokens are matched on the raw text, before NFC: a decomposed "[ià]" is not the added token
    assert tok.encode("[ià]") == [tok.token_to_id("[ià]")]
    assert tok.token_to_id("[ià]") not in tok.encode("[ia\u0300]")
    # leftmost-longest among overlapping added tokens (none of CosyVoice3's is a prefix of another)
    small = T.Qwen2Tokenizer({c: i for i, c in enumerate("abcx<>")}, [],
                             [T.AddedToken("<ab", 10, True), T.AddedToken("<abc", 11, True), T.AddedToken("c>", 12, True)])
    assert small.encode("x<abc>") == [3, 11, 5]       # "<abc" (longest at the leftmost start), then ">"
    assert small.encode("<abx<ab") == [10, 3, 10]
    assert small.encode("ac>") == [0, 12]
