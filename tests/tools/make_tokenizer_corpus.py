#!/usr/bin/env python3
"""Writes the tokenizer parity corpus (generated at test time, deterministic, never committed).

usage: /usr/bin/python3 tests/tools/make_tokenizer_corpus.py ADDED_TOKENS.json OUT.json [--count N]

ADDED_TOKENS.json is the bundle-format list of CosyVoice3's added tokens (written by
cosyvoice_tokenizer_assets from the C++ list); the corpus uses it to place real tags and their
near-misses. OUT.json is {"texts": [...], "decode": [[id, ...], ...], "probes": [...]}: the texts are
encoded by both Hugging Face tokenizers (tests/tools/hf_tokenize.js) and the C++ tokenizer.

The corpus is hand-written seed sentences per language and hand-reasoned edge cases, every added
token in context, a sweep over Unicode blocks, long paragraphs, and seeded random recombinations and
perturbations of all of these up to --count texts.
"""
import argparse
import json
import random

SEED = 20240611

# ---- hand-written seed sentences ------------------------------------------------------------------
SEEDS = {
    "zh": [
        "收到好友从远方寄来的生日礼物，那份意外的惊喜与深深的祝福让我心中充满了甜蜜的快乐。",
        "希望你以后能够做的比我还好呦。",
        "八百标兵奔北坡，北坡炮兵并排跑，炮兵怕把标兵碰，标兵怕碰炮兵炮。",
        "今天是2024年3月15日，气温18.5摄氏度，空气质量良好。",
        "请用四川话慢速朗读这段文字。",
        "他说：“我们明天上午九点在北京西站见面，不见不散！”",
        "人工智能（AI）正在改变我们的生活方式——从语音助手到自动驾驶。",
        "这件衣服原价¥299，现在打八折，只要239.2元。",
        "《红楼梦》是中国古典四大名著之一，作者曹雪芹。",
        "你好，世界！你好，CosyVoice3。",
        "电话号码是138-0013-8000，请在工作日拨打。",
        "我们一起去吃火锅吧，好不好？",
        "第一，准备材料；第二，搅拌均匀；第三，放入烤箱。",
        "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。",
        "在这个快速发展的时代，终身学习变得越来越重要。",
        "他的成绩从第10名上升到了第3名，进步非常明显。",
    ],
    "yue": [
        "你食咗飯未呀？我哋一齊去飲茶啦。",
        "佢今日好攰，所以冇返工。",
        "唔該你幫我攞杯水，多謝晒！",
        "呢間餐廳啲嘢食好好味，下次再嚟。",
        "我哋聽日喺旺角地鐵站等，唔見唔散。",
        "你講嘢大聲啲得唔得？我聽唔清楚。",
        "佢哋啱啱搬咗去沙田住，環境幾好。",
        "今日天氣咁熱，不如去游水啦。",
        "呢本書我睇咗三次，每次都有新體會。",
        "咪住！你件衫著反咗喎。",
    ],
    "en": [
        "The quick brown fox jumps over the lazy dog.",
        "I'm sure you'll like it; they've said it's the best they'd ever had.",
        "WE'RE NOT GOING TO STOP. YOU'LL SEE! THEY'D AGREE, WOULDN'T THEY?",
        "It's 3:45 p.m. on Tuesday, March 5th, 2024, and the temperature is 72°F.",
        "Dr. Smith's office is at 221B Baker Street, London NW1 6XE.",
        "Please call +1 (555) 123-4567 or e-mail info@example.com before 5 PM.",
        "She sells sea-shells by the sea-shore... doesn't she?!",
        "In 1969, Neil Armstrong said: \"That's one small step for man.\"",
        "Version 2.0.1-beta was released on 2023/12/31 at 23:59:59 UTC.",
        "Hello world! How are you doing today?",
        "   Leading spaces and trailing spaces   ",
        "Tabs\tbetween\twords and\nnew lines\r\nand Windows line endings.",
        "rock 'n' roll, the '90s, ma'am, y'all, o'clock, 'tis",
        "He said 'hello' and she replied \u2018hi\u2019 with a smile \u201cindeed\u201d.",
        "Approximately 3.14159265358979323846264338327950288419716939937510 is pi.",
        "https://github.com/FunAudioLLM/CosyVoice/blob/main/README.md#install",
    ],
    "ja": [
        "今日はいい天気ですね。散歩に行きましょうか。",
        "東京スカイツリーの高さは634メートルです。",
        "ありがとうございます！またよろしくお願いします。",
        "カタカナとひらがなと漢字が混ざった文章です。",
        "私の名前は田中です。どうぞよろしく。",
        "「吾輩は猫である。名前はまだ無い。」と彼は言った。",
        "ｶﾀｶﾅの半角文字と全角ＡＢＣ１２３も含みます。",
        "新幹線は午前9時15分に新大阪駅を出発します。",
        "ラーメンを食べたいけど、ダイエット中なんだ。",
        "桜の花が咲く季節になりました。",
    ],
    "ko": [
        "안녕하세요, 만나서 반갑습니다.",
        "오늘 날씨가 정말 좋네요. 공원에 갈까요?",
        "저는 서울에 살고 있어요. 한국어를 공부하고 있습니다.",
        "이 책은 2019년에 출판되었습니다.",
        "감사합니다! 다음에 또 봬요.",
        "대한민국의 수도는 서울입니다.",
        "김치찌개와 된장찌개 중에 뭐가 더 좋아요?",
        "한글은 세종대왕이 1443년에 창제했습니다.",
    ],
    "de": [
        "Größere Äpfel schmecken süßer als kleine Birnen.",
        "Die Straße heißt Schloßallee und liegt in München.",
        "Ich hab's dir doch gesagt: Das Wetter wird schön!",
        "Donaudampfschifffahrtsgesellschaftskapitänsmütze ist ein langes Wort.",
        "Am 3. Oktober 1990 wurde Deutschland wiedervereinigt.",
        "Können Sie mir bitte helfen? Vielen Dank im Voraus.",
        "Der Preis beträgt 1.234,56 € inkl. MwSt.",
        "ÜBER DEN WOLKEN MUSS DIE FREIHEIT WOHL GRENZENLOS SEIN.",
    ],
    "fr": [
        "L'été dernier, nous sommes allés à la plage près de Nice.",
        "Qu'est-ce que c'est ? C'est un cadeau pour toi !",
        "Le cœur a ses raisons que la raison ne connaît point.",
        "Il fait très beau aujourd'hui, n'est-ce pas ?",
        "« Bonjour », dit-elle en souriant.",
        "Le prix est de 12,50 € — très raisonnable.",
        "Où est la bibliothèque ? Elle est à côté de l'hôpital.",
        "J'AIMERAIS BEAUCOUP VOUS REVOIR L'ANNÉE PROCHAINE.",
    ],
    "es": [
        "¿Cómo estás? ¡Espero que muy bien!",
        "El niño comió una piña en la montaña.",
        "Mañana vamos a visitar a la abuela en Sevilla.",
        "La canción más famosa de 1995 todavía suena en la radio.",
        "Señoras y señores, bienvenidos al espectáculo.",
        "Él dijo: «No lo sé», y se fue.",
        "Tengo 25 años y vivo en la calle Alcalá, número 42.",
    ],
    "it": [
        "Buongiorno! Come va la giornata?",
        "Perché non vieni con noi al cinema stasera?",
        "L'Italia è famosa per la pizza, la pasta e il caffè.",
        "Più tardi andremo a mangiare un gelato in città.",
        "Dov'è la stazione? È lì, dopo il ponte.",
        "Il treno delle 8:30 è in ritardo di 15 minuti.",
        "Un po' di pazienza, per favore.",
    ],
    "ru": [
        "Привет! Как дела? Всё хорошо, спасибо.",
        "Москва — столица России, а Санкт-Петербург — северная столица.",
        "Съешь же ещё этих мягких французских булок, да выпей чаю.",
        "В 2022 году температура достигла −35 °C.",
        "Ёлка стоит в углу, а на ней висят игрушки.",
        "МЫ ВСТРЕТИМСЯ ЗАВТРА В ДЕСЯТЬ ЧАСОВ УТРА.",
        "Он сказал: «Я приду», — и ушёл.",
    ],
}

# ---- hand-reasoned edge cases --------------------------------------------------------------------
EDGE = [
    # empty and tiny
    "", " ", "  ", "\n", "a", "1", "!", "'", "''", "'s", "\t",
    # 1: contractions, every suffix, every case, and their neighbours
    "it's don't we're you've I'm we'll he'd",
    "IT'S DON'T WE'RE YOU'VE I'M WE'LL HE'D",
    "It'S doN'T We'Re you'Ve I'M we'Ll he'D we'lL",
    "'s't're've'm'll'd", "'S'T'RE'VE'M'LL'D", "'sx 'tx 'rex 'vex 'mx 'llx 'dx",
    "'ſx 'ſ ſ'ſ", "'ẞx 'ß 'ﬅx 'Kx", "'l 'r 'v 're 'lL 'Ll",
    "x's y'S 1's 1'S", "''s '''ll", " 's  'S\n's",
    "\u2019s \u2019S \u02bcs",  # curly apostrophes are not contractions
    # 2: letters with an optional leading non-letter
    "hello", " hello", "  hello", "\thello", "\u00a0hello", "\u3000hello", "\u2028hello",
    "!hello", "!!hello", "-hello", "1hello", "\nhello", "\r\nhello", "😀hello", "\u0301hello",
    "hello\u0301world", "a\u0308", "ꙮ", "ǅungla", "ʰʲʷ", "〇二三",
    # 3: numbers one by one, including non-ASCII digits and other numbers
    "1234567890", "3.14159", "1,000,000", "١٢٣٤٥", "१२३", "Ⅻ ⅻ ½ ¾ ² ³ ① ⑩", "𝟏𝟐𝟑", "12ab34", "ab12cd",
    "99999999999999999999999999999999999999999999999999",
    # 4: punctuation runs, optional leading space, trailing newlines
    "...", " ...", "  ...", "!?!?", "hi!!!\n\nthere", "a ,b", "a  ,b", "(((x)))", "--\r\n\r\n--",
    "a. \n b", "$100", " $100", "@#%^&*()_+-=[]{}|;:,.<>/?`~", "«»‹›“”„", "。，、；：？！",
    # 5-7: whitespace runs and the look-ahead
    "a b", "a  b", "a   b", "a \n b", "a\n\nb", "a \n\n b", "a\r\n\r\nb", "a \t b", "a\t\tb",
    "trailing   ", "trailing \n", "  leading", "\n\n\n", " \n \n ", "\r", "\r\r\n\n", "a\u00a0\u00a0b",
    "a\u3000\u3000b", "a \u3000b", "a\u2028b", "a\u2029b", "a\u0085b", "a\u000bb", "a\u000cb",
    "a\u200bb", "a\u180eb", "a\ufeffb", "a\u2000\u2001\u2002\u2003b", "a\u202f\u205fb", "a\u1680b",
    "word  \n  word", "x \u00a0y", "x\u00a0 y",
    # control characters
    "a\u0000b", "\u0001\u0002\u0003", "bell\u0007tab\u0009esc\u001b[0m", "del\u007f", "\u0080\u009f",
    # combining marks and NFC
    "e\u0301", "cafe\u0301", "Cafe\u0301 na\u0131\u0308ve", "A\u030a", "\u212b", "\u2126",
    "o\u0308\u0301", "\u1100\u1161\u11a8", "\u1112\u1161\u11ab\u1100\u1173\u11af", "\u0915\u093c",
    "\uac00\u11a8", "e\u0301\u0301\u0301", "\u0301\u0301", "n\u0303o", "\u00e9 vs e\u0301",
    "\u0041\u030a\u0328", "\u0f40\u0fb5", "\u09c7\u09be", "\ufb01 \ufb02", "\u2460", "\uff21\uff22",
    # emoji: ZWJ sequences, skin tones, flags, keycaps, variation selectors
    "👨‍👩‍👧‍👦", "👍🏽", "👩🏿‍💻", "🇨🇳🇺🇸🇯🇵", "1️⃣ #️⃣", "❤️", "☺︎", "🏳️‍🌈", "😀😃😄", "I ❤️ NY",
    "ok👌🏻 good", "🧑‍🤝‍🧑", "🫠🫶🏼", "a😀b", " 😀", "  😀",
    # scripts
    "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก", "Γειά σου Κόσμε", "Բարեւ Ձեզ", "ქართული",
    "ᠮᠣᠩᠭᠣᠯ", "ⴰⵣⵓⵍ", "𐐷𐐸", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𠀋𠂉𪚥", "ﷺ", "Ǆ ǅ ǆ",
    # CosyVoice tags, real and near-misses
    "<|endofprompt|>", "You are a helpful assistant.<|endofprompt|>希望你以后能够做的比我还好呦。",
    "[breath]", "[breath", "breath]", "[ breath]", "[Breath]", "[[breath]]", "[breath][breath]",
    "<strong>重点</strong>", "< strong>", "<strong >", "</strong", "<strong></strong>",
    "[laughter]哈哈[laughter]", "<laughter>好笑</laughter>", "[quick_breath]", "[quick_breath",
    "[j][ǐ]", "[j][i\u030c]", "[ji]", "[AA1]", "[AA3]", "[aa1]", "[AA1 ]", "[ZH][zh]", "[vè][ve\u0300]",
    "<|endoftext|>", "<|endoftext|", "<|im_start|>user<|im_end|>", "<|endofsystem|>", "<|endofprompt|",
    "<|<|endofprompt|>|>", "[[a]]", "[a][b][c]", "[ǜ][ǘ][ǚ]", "[ü]", "[u\u0308]", "[a ]",
    "他[breath]说[laughter]", "text<|endofprompt|>  spaces  <|endofprompt|>", " [breath] ", "\n[breath]\n",
    "e[breath]\u0301", "[breath]\u0301", "<|endofprompt|>\u0301e", "'[breath]s", "[breath]'s",
    # the flags of the added tokens in tests' flags/tokenizer.json (plain text for CosyVoice3's)
    "a <ls> b", "a   <ls>b", "<ls><ls>  <ls>", "a<rs>  b", "a <rs>\n\n b", "x  <lrs>  y", "<lrs>", " <lrs> <lrs> ",
    "[sw] x[sw] [sw]x x[sw]x ([sw]) 1[sw] _[sw] é[sw]", "word sword words word. (word) 1word wordé",
    "café cafe\u0301 CAFÉ cafés", "e\u0301x \u00e9x e\u0301xe\u0301x", "o\u0301y \u00f3y", "\ufb01x fix",
    "<|end <|endoftext|> <|endoftext|>x <|endoftext|x", " <norm> ", "a<norm>b", "\t<norm>\t",
    "xabc abc abcx ab xab", "Ωmega xΩmega  Ωmega Ωmegax", "<ls>[sw]<rs>word",
    # mixed
    "Hello你好こんにちは안녕하세요Привет", "iPhone15 Pro Max售价9999元", "AI技术的发展trend很快",
    "中文English日本語한국어Deutsch", "COVID-19疫情", "5G网络", "Python3.12版本", "η=0.5, α=1e-3",
    "x²+y²=z²", "E=mc²", "100km/h", "3×4=12", "5÷2=2.5", "±∞", "°C °F", "№1", "§ 12 ¶",
]

FILLERS = [" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2028", " \n ", "", "", "", "   "]
PUNCT = ["", "!", "?", ".", "...", "，", "。", "！", "?!", "”", ")", "'", "\"", "—", "-"]
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧", "🇫🇷", "❤️", "🎉", "🙏🏿", "🤖", "1️⃣", "🏳️‍🌈"]
COMBINING = ["\u0301", "\u0300", "\u0308", "\u0303", "\u030c", "\u0327", "\u20dd"]
CONTRACTIONS = ["'s", "'S", "'t", "'T", "'re", "'RE", "'Re", "'rE", "'ve", "'VE", "'m", "'M", "'ll", "'LL",
                "'Ll", "'lL", "'d", "'D"]


def full_sweep():
    """Every Unicode scalar value in the contexts of block_sweep (about 37 MB; Hugging Face takes
    minutes on it, so it is a one-off check: --full-sweep)."""
    cps = [c for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    texts = []
    for k in range(0, len(cps), 40):
        texts.append("".join(f"x{chr(c)}y {chr(c)}{chr(c)}1{chr(c)}\n'{chr(c)}e\u0301{chr(c)} " for c in cps[k:k + 40]))
    return texts


def block_sweep(rng):
    """Code points from every 256-wide block of planes 0-3 and 14, in the contexts that tell the regex
    classes apart (letter, number, space, other; combining with a base; NFC of a neighbour)."""
    texts = []
    blocks = list(range(0x0000, 0x32000, 0x100)) + list(range(0xE0000, 0xE0200, 0x100))
    for start in blocks:
        if 0xD800 <= start < 0xE000:
            continue  # surrogates are not characters; no UTF-8 exists for them
        cps = rng.sample(range(start, start + 0x100), 6)
        chars = [chr(c) for c in cps if not 0xD800 <= c < 0xE000]
        a, b, c = chars[0], chars[1], chars[2]
        texts.append(f"x{a}y {a}{a}1{b} {b}\n{c}{c} e{c}'{a}s {a}  {b}!{c}")
        texts.append("".join(chars) + " " + " ".join(chars))
    return texts


def perturb(rng, text):
    """One random edit that keeps the text valid Unicode."""
    ops = rng.randrange(12)
    if not text:
        return rng.choice(FILLERS) + rng.choice(EDGE)
    i = rng.randrange(len(text) + 1)
    if ops == 0:
        return text.upper()
    if ops == 1:
        return text.lower()
    if ops == 2:
        return text[:i] + rng.choice(FILLERS) + text[i:]
    if ops == 3:
        return text[:i] + rng.choice(EMOJI) + text[i:]
    if ops == 4:
        return text[:i] + rng.choice(COMBINING) + text[i:]
    if ops == 5:
        return text[:i] + rng.choice(CONTRACTIONS) + text[i:]
    if ops == 6:
        return text[:i] + str(rng.randrange(10 ** rng.randrange(1, 15))) + text[i:]
    if ops == 7:
        return text[:i]
    if ops == 8:
        return text[i:]
    if ops == 9:
        return text.replace(" ", rng.choice(FILLERS[:9]))
    if ops == 10:
        return text + rng.choice(PUNCT) + rng.choice(FILLERS)
    return text[:i] + text[i:][:rng.randrange(1, 4)] * rng.randrange(2, 5) + text[i:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("added_tokens")
    parser.add_argument("out")
    parser.add_argument("--count", type=int, default=4000, help="number of texts (at least the fixed part)")
    parser.add_argument("--full-sweep", action="store_true", help="every code point instead of samples per block")
    args = parser.parse_args()
    rng = random.Random(SEED)
    with open(args.added_tokens, encoding="utf-8") as f:
        tags = [t["content"] for t in json.load(f)]

    seeds = [s for lang in SEEDS.values() for s in lang]
    texts = list(seeds) + list(EDGE)

    # every added token alone, glued to text, and with its last character dropped (a near-miss)
    for tag in tags:
        s = rng.choice(seeds)
        cut = rng.randrange(len(s) + 1)
        texts.append(tag)
        texts.append(s[:cut] + tag + s[cut:])
        texts.append(s[:cut] + tag[:-1] + " " + s[cut:])

    texts += full_sweep() if args.full_sweep else block_sweep(rng)

    # long inputs: multi-kB paragraphs mixing languages, tags and whitespace
    for _ in range(24):
        parts, target = [], rng.choice([2000, 5000, 12000])
        while sum(len(p.encode("utf-8")) for p in parts) < target:
            parts.append(rng.choice(seeds))
            if rng.random() < 0.2:
                parts.append(rng.choice(tags))
            parts.append(rng.choice(FILLERS))
        texts.append("".join(parts))

    # random recombinations and perturbations up to --count
    pool = seeds + EDGE
    while len(texts) < args.count:
        k = rng.randrange(1, 4)
        text = rng.choice(FILLERS).join(rng.choice(pool) for _ in range(k))
        if rng.random() < 0.3:
            i = rng.randrange(len(text) + 1)
            text = text[:i] + rng.choice(tags) + text[i:]
        for _ in range(rng.randrange(0, 4)):
            text = perturb(rng, text)
        texts.append(text)

    # id lists for decoding: random ids (some unknown), runs of byte tokens, special ids
    decode = []
    for _ in range(150):
        decode.append([rng.randrange(0, 152000) for _ in range(rng.randrange(0, 20))])
    for _ in range(100):
        decode.append([rng.randrange(0, 256) for _ in range(rng.randrange(1, 8))])
    for _ in range(50):
        decode.append([rng.randrange(151640, 151930) for _ in range(rng.randrange(1, 6))])

    probes = tags + ["Ġworld", "hello", "Ċ", "ĠĠ", "Ġ", "!", "ä½łå¥½", "not-a-token-xyz", "", "<|endofprompt",
                     "[AA9]", " [breath]", "你好"]

    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"seed": SEED, "texts": texts, "decode": decode, "probes": probes}, f, ensure_ascii=True)
    total = sum(len(t.encode("utf-8")) for t in texts)
    print(f"make_tokenizer_corpus.py: {len(texts)} texts ({total / 1e6:.2f} MB), {len(decode)} id lists, "
          f"{len(probes)} probes -> {args.out}")


if __name__ == "__main__":
    main()
