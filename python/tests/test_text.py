"""CosyVoice3 text normalisation and splitting (spec §3.1).  Every expected value below was worked
out by hand from the upstream rules; the reasoning is in the comments."""
import pytest

import _front_helpers as H
from cosyvoice_export.frontend import text as X


def words(s):
    """A stand-in tokenizer that counts whitespace-separated words (easy to reason about)."""
    return s.split()


# ------------------------------------------------------------------------------------ small rules

def test_contains_chinese():
    assert X.contains_chinese("你好") and X.contains_chinese("abc漢字")    # kanji are in U+4E00..U+9FFF
    assert not X.contains_chinese("hello")
    assert not X.contains_chinese("こんにちは") and not X.contains_chinese("한국어")
    assert not X.contains_chinese("〇") and not X.contains_chinese("㐀")   # U+3007, U+3400: outside the range


def test_replace_blank():
    assert X.replace_blank("你好 世界") == "你好世界"        # neighbours not ASCII
    assert X.replace_blank("hello world") == "hello world"  # both neighbours ASCII non-space
    assert X.replace_blank("你 a") == "你a" and X.replace_blank("a 你") == "a你"
    assert X.replace_blank("a  b") == "ab"                  # each space has a space neighbour
    assert X.replace_blank("3 个 apples") == "3个apples"


def test_corner_marks_and_brackets():
    assert X.replace_corner_mark("10m² 和 5m³") == "10m平方 和 5m立方"
    assert X.remove_bracket("（注意）【重要】`代码`——结束") == "注意重要代码 结束"


def test_is_only_punctuation():
    for s in ("", "。", "...", "？！", "😀", "～～", "$+"):
        assert X.is_only_punctuation(s), s
    for s in ("a", "，你", "1.", " "):
        assert not X.is_only_punctuation(s), s


# ------------------------------------------------------------------------------------ numbers

@pytest.mark.parametrize("digits,words_", [
    ("0", "zero"), ("000", "zero"), ("1", "one"), ("01", "one"), ("007", "seven"), ("5", "five"),
    ("10", "ten"), ("11", "eleven"), ("15", "fifteen"), ("20", "twenty"), ("21", "twenty-one"),
    ("99", "ninety-nine"), ("100", "one hundred"), ("101", "one hundred and one"), ("110", "one hundred and ten"),
    ("115", "one hundred and fifteen"), ("123", "one hundred and twenty-three"), ("200", "two hundred"),
    ("999", "nine hundred and ninety-nine"), ("1000", "one thousand"), ("1001", "one thousand and one"),
    ("1010", "one thousand and ten"), ("1100", "one thousand, one hundred"),
    ("1234", "one thousand, two hundred and thirty-four"), ("2024", "two thousand and twenty-four"),
    ("10000", "ten thousand"), ("12345", "twelve thousand, three hundred and forty-five"),
    ("100000", "one hundred thousand"), ("1000000", "one million"), ("1000001", "one million and one"),
    ("1001001", "one million, one thousand and one"),
    ("1234567", "one million, two hundred and thirty-four thousand, five hundred and sixty-seven"),
    ("１２", "twelve"),                      # fullwidth digits count by value
    ("²", "zero"),                           # isdigit() but not a decimal digit: inflect reads "zero"
])
def test_number_to_words(digits, words_):
    assert X.number_to_words(digits) == words_


def test_number_to_words_limits():
    assert X.number_to_words("1" + "0" * 33).endswith("decillion")
    with pytest.raises(ValueError):
        X.number_to_words("1" + "0" * 36)


def test_spell_out_number():
    assert X.spell_out_number("I have 3 apples and 21 pears.") == "I have three apples and twenty-one pears."
    assert X.spell_out_number("Pi is 3.14") == "Pi is three.fourteen"     # each digit run on its own
    assert X.spell_out_number("the 1st of 2024") == "the onest of two thousand and twenty-four"
    assert X.spell_out_number("no digits") == "no digits"
    assert X.spell_out_number("42") == "forty-two"


# ------------------------------------------------------------------------------------ split_paragraph

def test_split_paragraph_zh_greedy_merge():
    s1, s2, s3, s4 = "一" * 39 + "。", "二" * 29 + "。", "三" * 29 + "！", "四" * 9 + "？"
    # s1 (40) -> cur 40; +s2 -> 70; +s3 would be 100 > 80 with cur 70 > 60 -> emit s1s2; cur s3 (30);
    # +s4 -> 40; the remainder 40 >= 20 stays a segment
    assert X.split_paragraph(s1 + s2 + s3 + s4, None, "zh") == [s1 + s2, s3 + s4]


def test_split_paragraph_zh_tail_merge_and_min_len():
    s1, s2, s3 = "一" * 39 + "。", "二" * 29 + "。", "三" * 14 + "；"
    # s3 starts a new segment (85 > 80, 70 > 60) but the remainder (15 < 20) joins the previous one
    assert X.split_paragraph(s1 + s2 + s3, None, "zh") == [s1 + s2 + s3]
    # cur must exceed 60 before a cut: 50 + 50 > 80 but 50 <= 60, so one 100-character segment
    a, b = "甲" * 49 + "。", "乙" * 49 + "。"
    assert X.split_paragraph(a + b, None, "zh") == [a + b]


def test_split_paragraph_appends_final_punctuation_and_attaches_quotes():
    assert X.split_paragraph("你好", None, "zh") == ["你好。"]
    assert X.split_paragraph("hello world", words, "en") == ["hello world."]
    # the closing quote after 。 belongs to that sentence
    assert X.split_paragraph("他说：“你好。”然后走了。", None, "zh") == ["他说：“你好。”然后走了。"]
    # a punctuation mark directly after another one is dropped (empty piece), as upstream
    assert X.split_paragraph("你好。。。", None, "zh") == ["你好。"]
    # 、 splits in zh, ":" splits in en but not in zh (it is not in the zh set)
    assert "、" in X.ZH_PUNCT and ":" not in X.ZH_PUNCT and ":" in X.EN_PUNCT


def test_split_paragraph_en_counts_tokens():
    sent = " ".join(["w"] * 29) + " w."          # 30 words
    text = sent + (" " + sent) * 3
    # 30 -> 60 (not > 80); +30 = 90 > 80 but cur 60 is not > 60 -> cur 90; +30 = 120 > 80 and 90 > 60 -> cut
    out = X.split_paragraph(text, words, "en")
    assert len(out) == 2 and [len(words(o)) for o in out] == [90, 30]
    with pytest.raises(ValueError):
        X.split_paragraph(text, None, "en")


def test_split_paragraph_comma_split_option():
    assert X.split_paragraph("甲，乙", None, "zh", comma_split=True, token_max_n=1, token_min_n=0,
                             merge_len=0) == ["甲，", "乙。"]


# ------------------------------------------------------------------------------------ text_normalize

def test_bypass_for_special_markup():
    t = "You are a helpful assistant.<|endofprompt|>你好 123（测试）"
    assert X.text_normalize(t, words) == [t]
    assert X.text_normalize(t, words, split=False) == t
    # both markers are needed, anywhere
    assert X.text_normalize("a <| b |> c 3", words) == ["a <| b |> c 3"]
    assert X.text_normalize("a <| b 3", words, split=False) == "a <| b three"
    assert X.text_normalize("你好 世界", words, text_frontend=False) == ["你好 世界"]
    assert X.text_normalize("", words) == [""] and X.text_normalize("", words, split=False) == ""


def test_chinese_branch_rules_in_order():
    # replace_blank runs before the " - " rule: between CJK the spaces are already gone ...
    assert X.text_normalize("北京 - 上海", None, split=False) == "北京-上海"
    # ... but between ASCII neighbours they survive and " - " becomes "，"
    assert X.text_normalize("我在A - B之间", None, split=False) == "我在A，B之间"
    assert X.text_normalize("第一行\n第二行", None, split=False) == "第一行第二行"
    assert X.text_normalize("价格是3.5元", None) == ["价格是3。5元。"]          # "." -> "。" (no TN here)
    assert X.text_normalize("面积10m²", None, split=False) == "面积10m平方"
    assert X.text_normalize("（注意）【重要】`代码`——结束", None) == ["注意重要代码 结束。"]
    assert X.text_normalize("  你好，世界，、 ", None) == ["你好，世界。"]       # strip, trailing [，,、]+ -> 。


def test_chinese_branch_drops_symbol_only_segments():
    body = "好" * 77 + "。"                       # 78 characters
    tail = "～" * 25 + "。"                       # 26 symbols/punctuation: a segment of its own (>= 20)
    assert X.text_normalize(body + tail, None) == [body]
    assert X.text_normalize("你好😀😀", None) == ["你好😀😀。"]


def test_english_branch():
    assert X.text_normalize("I have 3 apples", words) == ["I have three apples."]
    assert X.text_normalize("Call me at 10, ok?", words, split=False) == "Call me at ten, ok?"
    assert X.text_normalize("x² + 1", words, split=False) == "xzero + one"   # upstream quirk, kept
    assert X.text_normalize("...", words) == []
    assert X.text_normalize("   ", words) == [] and X.text_normalize("   ", words, split=False) == ""
    with pytest.raises(ValueError):
        X.text_normalize("needs a tokenizer to split", None)


def test_english_split_with_the_real_tokenizer():
    if not H.QWEN2_TOKENIZER_JSON.exists():
        pytest.skip("tokenizer assets missing (scripts/setup/fetch-npm-assets.sh)")
    from cosyvoice_export.frontend.tokenizer import BLANKEN_LAST_ADDED_ID, CosyVoice3Tokenizer

    tok = CosyVoice3Tokenizer(H.QWEN2_TOKENIZER_JSON, max_base_added_id=BLANKEN_LAST_ADDED_ID)
    para = ("The committee met on 14 occasions during the year. " * 12).strip()
    segs = X.text_normalize(para, tok.encode)
    assert "".join(segs) == X.spell_out_number(para)
    assert len(segs) >= 2
    for s in segs[:-1]:
        n = len(tok.encode(s))
        assert 60 < n <= 80 + 20                  # cut only after exceeding 60 tokens


def test_number_words_against_inflect():
    """Differential tier: upstream calls inflect's number_to_words; Debian ships inflect 2.1, whose
    number_to_words algorithm is the one pinned upstream (7.3.1) uses."""
    inflect = pytest.importorskip("inflect", reason="python3-inflect (test oracle) not installed")
    import random

    eng = inflect.engine()
    rnd = random.Random(0)
    cases = [str(i) for i in range(0, 2100)]
    cases += [str(rnd.randint(0, 10 ** rnd.randint(1, 36))) for _ in range(2000)]
    cases += ["0" * k + str(rnd.randint(0, 99999)) for k in range(1, 4) for _ in range(30)]
    cases += ["１２３", "٣٤", "²", "①", "3²"]
    for c in cases:
        assert X.number_to_words(c) == eng.number_to_words(c), c
    alph = list("ab .,-0123456789") + ["²", "１", "٣"]
    for _ in range(500):
        t = "".join(rnd.choice(alph) for _ in range(rnd.randint(1, 30)))
        ref = "".join(eng.number_to_words(p) if p[:1].isdigit() else p for p in _digit_runs(t))
        assert X.spell_out_number(t) == ref, t


def _digit_runs(t):
    import itertools

    return ["".join(g) for _, g in itertools.groupby(t, key=str.isdigit)]
