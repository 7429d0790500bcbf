"""CosyVoice3 text normalisation and sentence splitting (upstream CosyVoiceFrontEnd.text_normalize and
cosyvoice/utils/frontend_utils.py; spec §3.1, verification §(10)).

text_normalize(text, tokenize, split=True) -> list[str] (split) or str
split_paragraph(text, tokenize, lang, token_max_n=80, token_min_n=60, merge_len=20, comma_split=False)
spell_out_number(text) / number_to_words(digits)   inflect-style English numbers
contains_chinese, replace_blank, replace_corner_mark, remove_bracket, is_only_punctuation

Not reproduced: the wetext (kaldifst) zh/en TN step and the closed ttsfrd engine.  Upstream runs
wetext first in both branches when it is installed (it only acts on texts containing digits);
this reference skips it, as upstream does when no frontend tool is available.  The C++ engine has
its own normaliser, tested separately.

number_to_words is this project's re-implementation of inflect 7.x ``engine().number_to_words``
with default arguments for a run of digits: groups of three with "hundred and", "thousand",
"million", ... ; e.g. "123" -> "one hundred and twenty-three", "1234" -> "one thousand, two hundred
and thirty-four", "2024" -> "two thousand and twenty-four".
"""
from __future__ import annotations

import re
import unicodedata
from typing import Callable, List, Optional, Sequence, Union

import regex

# ------------------------------------------------------------------------------ small rules

_CHINESE_RE = re.compile(r"[\u4e00-\u9fff]")


def contains_chinese(text: str) -> bool:
    """Any character in U+4E00..U+9FFF (CJK Unified Ideographs) selects the Chinese branch."""
    return _CHINESE_RE.search(text) is not None


def replace_blank(text: str) -> str:
    """Drop every space except one whose two neighbours are both non-space ASCII characters."""
    out = []
    n = len(text)
    for i, c in enumerate(text):
        if c == " ":
            nxt = text[i + 1] if i + 1 < n else ""
            prv = text[i - 1] if i > 0 else ""  # upstream reads text[-1] at i == 0; strip() makes that moot
            if nxt.isascii() and nxt not in ("", " ") and prv.isascii() and prv not in ("", " "):
                out.append(c)
        else:
            out.append(c)
    return "".join(out)


def replace_corner_mark(text: str) -> str:
    return text.replace("²", "平方").replace("³", "立方")


def remove_bracket(text: str) -> str:
    """Remove （ ） 【 】 and backticks; turn the em-dash pair —— into a space."""
    for ch in ("（", "）", "【", "】", "`"):
        text = text.replace(ch, "")
    return text.replace("——", " ")


_ONLY_PUNCT_RE = regex.compile(r"^[\p{P}\p{S}]*$")


def is_only_punctuation(text: str) -> bool:
    """True for strings made only of Unicode punctuation (P*) and symbols (S*), or empty."""
    return _ONLY_PUNCT_RE.fullmatch(text) is not None


# ------------------------------------------------------------------------------ numbers

_UNITS = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
          "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = [" ", " thousand", " million", " billion", " trillion", " quadrillion", " quintillion", " sextillion",
           " septillion", " octillion", " nonillion", " decillion"]


def _tens_words(t: int, u: int, scale: int = 0) -> str:
    if t == 1:
        return _TEENS[u] + _SCALES[scale]
    return _TENS[t] + ("-" if t and u else "") + _UNITS[u] + _SCALES[scale]


def _group_words(h: int, t: int, u: int, scale: int) -> str:
    """One full three-digit group followed by its scale word, as inflect's hundfn."""
    if h:
        and_word = " and " if (t or u) else ""
        return "%s hundred%s%s%s, " % (_UNITS[h], and_word, _tens_words(t, u), _SCALES[scale])
    if t or u:
        return "%s%s, " % (_tens_words(t, u), _SCALES[scale])
    return ""


def number_to_words(digits: str) -> str:
    """English words for a run of decimal digits, inflect-style (see module docstring).

    Non-ASCII decimal digits (category Nd, e.g. fullwidth) count by their value; other characters
    (e.g. superscripts, which str.isdigit accepts) are ignored, and an empty run reads "zero",
    as inflect does.  More than 36 significant digits raise ValueError (inflect raises too)."""
    ds = "".join(str(unicodedata.decimal(c)) for c in digits if unicodedata.category(c) == "Nd")
    if not ds or int(ds) == 0:
        return "zero"
    if int(ds) == 1:
        return "one"
    ds = ds.lstrip("0")
    n_full, lead = divmod(len(ds), 3)
    if n_full + (1 if lead else 0) > len(_SCALES):
        raise ValueError("number too large to spell out: %d digits" % len(ds))
    parts = []
    # full groups from the right, scale 0, 1, ...; the leading 1-2 digits get the next scale
    for g in range(n_full):
        end = len(ds) - 3 * g
        h, t, u = (int(c) for c in ds[end - 3:end])
        parts.append(_group_words(h, t, u, g))
    if lead == 2:
        parts.append(_tens_words(int(ds[0]), int(ds[1]), n_full) + ", ")
    elif lead == 1:
        parts.append(_UNITS[int(ds[0])] + _SCALES[n_full] + ", ")
    s = "".join(reversed(parts))
    if s.endswith(", "):
        s = s[:-2]
    s = re.sub(r"\s+,", ",", s)
    s = re.sub(r", (\S+)\s+\Z", r" and \1", s)   # "..., one" -> "... and one" for a one-word last group
    s = re.sub(r"\s+", " ", s).strip()
    return s


def spell_out_number(text: str) -> str:
    """Replace each maximal run of str.isdigit() characters with number_to_words(run)."""
    out = []
    st = None
    for i, c in enumerate(text):
        if c.isdigit():
            if st is None:
                st = i
        else:
            if st is not None:
                out.append(number_to_words(text[st:i]))
                st = None
            out.append(c)
    if st is not None:
        out.append(number_to_words(text[st:]))
    return "".join(out)


# ------------------------------------------------------------------------------ splitting

ZH_PUNCT = ["。", "？", "！", "；", "：", "、", ".", "?", "!", ";"]
EN_PUNCT = [".", "?", "!", ";", ":"]
CLOSING_QUOTES = ['"', "”"]


def split_paragraph(text: str, tokenize: Optional[Callable[[str], Sequence[int]]], lang: str = "zh",
                    token_max_n: int = 80, token_min_n: int = 60, merge_len: int = 20,
                    comma_split: bool = False) -> List[str]:
    """Cut after each sentence punctuation mark (plus a directly following closing quote), then
    greedily merge the pieces: a new segment starts when len(cur + piece) > token_max_n and
    len(cur) > token_min_n; a final remainder with len < merge_len joins the previous segment.
    len counts characters for "zh" and tokenize() ids otherwise.  A text that does not end in a
    punctuation mark gets "。" ("zh") or "." appended first."""
    if lang == "zh":
        punct = list(ZH_PUNCT)
    else:
        punct = list(EN_PUNCT)
    if comma_split:
        punct += ["，", ","]
    if lang != "zh" and tokenize is None:
        raise ValueError("split_paragraph(lang=%r) counts BPE tokens: pass tokenize" % lang)

    def length(s: str) -> int:
        return len(s) if lang == "zh" else len(tokenize(s))

    if not text:
        return []
    if text[-1] not in punct:
        text += "。" if lang == "zh" else "."

    pieces: List[str] = []
    st = 0
    for i, c in enumerate(text):
        if c in punct:
            if i > st:
                pieces.append(text[st:i] + c)
            if i + 1 < len(text) and text[i + 1] in CLOSING_QUOTES:
                # upstream pops the last piece even when none was appended at this mark
                if pieces:
                    pieces[-1] = pieces[-1] + text[i + 1]
                st = i + 2
            else:
                st = i + 1

    out: List[str] = []
    cur = ""
    for p in pieces:
        if length(cur + p) > token_max_n and length(cur) > token_min_n:
            out.append(cur)
            cur = ""
        cur = cur + p
    if cur:
        if length(cur) < merge_len and out:
            out[-1] = out[-1] + cur
        else:
            out.append(cur)
    return out


# ------------------------------------------------------------------------------ text_normalize

def text_normalize(text: str, tokenize: Optional[Callable[[str], Sequence[int]]] = None, split: bool = True,
                   text_frontend: bool = True) -> Union[List[str], str]:
    """Upstream text_normalize without the wetext/ttsfrd step (see module docstring).

    * text containing both "<|" and "|>" (e.g. "<|endofprompt|>") is returned untouched, whole;
    * Chinese branch (any U+4E00..U+9FFF): drop "\\n", replace_blank, ²/³, "." -> "。",
      " - " -> "，", remove_bracket, trailing [，,、]+ -> "。", split_paragraph(zh, 80/60/20);
    * other branch: spell_out_number, split_paragraph(en, 80/60/20) counting tokenize() ids.
    Segments made only of punctuation/symbols are dropped.  split=False returns the normalised
    string instead of the segment list.  tokenize (e.g. CosyVoice3Tokenizer.encode) is needed
    only for the English split.
    Deviation: a text that is empty after strip() returns [] (upstream raises IndexError)."""
    if "<|" in text and "|>" in text:
        text_frontend = False
    if text_frontend is False or text == "":
        return [text] if split else text
    text = text.strip()
    if text == "":
        return [] if split else text
    if contains_chinese(text):
        text = text.replace("\n", "")
        text = replace_blank(text)
        text = replace_corner_mark(text)
        text = text.replace(".", "。")
        text = text.replace(" - ", "，")
        text = remove_bracket(text)
        text = re.sub(r"[，,、]+$", "。", text)
        if not split:
            return text
        texts = split_paragraph(text, tokenize, "zh", token_max_n=80, token_min_n=60, merge_len=20,
                                comma_split=False)
    else:
        text = spell_out_number(text)
        if not split:
            return text
        texts = split_paragraph(text, tokenize, "en", token_max_n=80, token_min_n=60, merge_len=20,
                                comma_split=False)
    return [t for t in texts if not is_only_punctuation(t)]
