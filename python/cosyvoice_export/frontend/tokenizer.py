"""Qwen2 byte-level BPE and CosyVoice3's added tokens, without ``transformers`` (spec §3.2).

Qwen2Tokenizer.from_path(p)  p = a CosyVoice-BlankEN/ directory (vocab.json, merges.txt,
                             tokenizer_config.json with added_tokens_decoder), a directory holding a
                             tokenizer.json, or a tokenizer.json file.
CosyVoice3Tokenizer(p)       the above plus CosyVoice3's special tokens, added as upstream's
                             ``CosyVoice3Tokenizer`` does with ``add_special_tokens``.
    .encode(text) -> list[int]   no BOS/EOS (Qwen2 adds none)
    .decode(ids, skip_special_tokens=None) -> str

Encoding, as Hugging Face tokenizers does for this configuration:
 1. added tokens (all are ``normalized: false``) are cut out of the *raw* text first, matching
    leftmost-longest; they map straight to their ids;
 2. every remaining piece is NFC-normalised;
 3. split with the Qwen2 pre-tokenizer regex (``regex`` module), gaps kept as pieces ("Isolated");
 4. each piece's UTF-8 bytes are mapped with GPT-2's bytes_to_unicode and BPE-merged by merge rank
    (lowest rank first, leftmost first among equal ranks), then looked up in the vocabulary.

Added-token ids (derivation, checked against HF's AddedVocabulary in the tests): upstream calls
``add_special_tokens({'eos_token': '<|endoftext|>', 'pad_token': '<|endoftext|>',
'additional_special_tokens': CV3_SPECIAL_TOKENS})``.  A token already in the vocabulary (base
BPE vocab or added tokens) keeps its id; every other token gets the next id after
max(vocab size, largest added id) in list order.  With BlankEN's 151,643-token vocabulary and
its 3 added tokens (151643 <|endoftext|>, 151644 <|im_start|>, 151645 <|im_end|>) the 280-entry
list gives: 2 existing (<|im_start|>, <|im_end|>), then 151646 <|endofprompt|> ... 151663
<|endofsystem|> (18 tags), 151664..151747 (84 CMU phones), 151748..151923 (176 pinyin).
"""
from __future__ import annotations

import json
import os
import unicodedata
from typing import Dict, List, Optional, Sequence, Tuple

import regex

QWEN2_SPLIT_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                       r"|\s*[\r\n]+|\s+(?!\S)|\s+")

# cosyvoice/tokenizer/tokenizer.py CosyVoice3Tokenizer: additional_special_tokens, in list order.
CV3_TAG_TOKENS = [
    "<|im_start|>", "<|im_end|>", "<|endofprompt|>",
    "[breath]", "<strong>", "</strong>", "[noise]",
    "[laughter]", "[cough]", "[clucking]", "[accent]",
    "[quick_breath]",
    "<laughter>", "</laughter>",
    "[hissing]", "[sigh]", "[vocalized-noise]",
    "[lipsmack]", "[mn]", "<|endofsystem|>",
]
# 84 CMU (ARPAbet) phones: 15 vowels with unstressed/0/1/2 stress variants (60) and 24 consonants,
# in the upstream (alphabetical) order.
_CMU_VOWELS = ["AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"]
_CMU_CONSONANTS = ["B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG", "P", "R", "S", "SH",
                   "T", "TH", "V", "W", "Y", "Z", "ZH"]


def _cmu_phones() -> List[str]:
    names = [v + s for v in _CMU_VOWELS for s in ("", "0", "1", "2")] + _CMU_CONSONANTS
    return ["[%s]" % n for n in sorted(names)]


CV3_CMU_TOKENS = _cmu_phones()
# 176 pinyin initials/finals with tone marks, upstream list order (copied as data: the order fixes ids).
CV3_PINYIN_TOKENS = [
    "[a]", "[ai]", "[an]", "[ang]", "[ao]", "[b]", "[c]", "[ch]", "[d]", "[e]", "[ei]", "[en]", "[eng]", "[f]",
    "[g]", "[h]", "[i]", "[ian]", "[in]", "[ing]", "[iu]", "[ià]", "[iàn]", "[iàng]", "[iào]", "[iá]", "[ián]",
    "[iáng]", "[iáo]", "[iè]", "[ié]", "[iòng]", "[ióng]", "[iù]", "[iú]", "[iā]", "[iān]", "[iāng]", "[iāo]",
    "[iē]", "[iě]", "[iōng]", "[iū]", "[iǎ]", "[iǎn]", "[iǎng]", "[iǎo]", "[iǒng]", "[iǔ]", "[j]", "[k]", "[l]",
    "[m]", "[n]", "[o]", "[ong]", "[ou]", "[p]", "[q]", "[r]", "[s]", "[sh]", "[t]", "[u]", "[uang]", "[ue]",
    "[un]", "[uo]", "[uà]", "[uài]", "[uàn]", "[uàng]", "[uá]", "[uái]", "[uán]", "[uáng]", "[uè]", "[ué]", "[uì]",
    "[uí]", "[uò]", "[uó]", "[uā]", "[uāi]", "[uān]", "[uāng]", "[uē]", "[uě]", "[uī]", "[uō]", "[uǎ]", "[uǎi]",
    "[uǎn]", "[uǎng]", "[uǐ]", "[uǒ]", "[vè]", "[w]", "[x]", "[y]", "[z]", "[zh]", "[à]", "[ài]", "[àn]", "[àng]",
    "[ào]", "[á]", "[ái]", "[án]", "[áng]", "[áo]", "[è]", "[èi]", "[èn]", "[èng]", "[èr]", "[é]", "[éi]", "[én]",
    "[éng]", "[ér]", "[ì]", "[ìn]", "[ìng]", "[í]", "[ín]", "[íng]", "[ò]", "[òng]", "[òu]", "[ó]", "[óng]", "[óu]",
    "[ù]", "[ùn]", "[ú]", "[ún]", "[ā]", "[āi]", "[ān]", "[āng]", "[āo]", "[ē]", "[ēi]", "[ēn]", "[ēng]", "[ě]",
    "[ěi]", "[ěn]", "[ěng]", "[ěr]", "[ī]", "[īn]", "[īng]", "[ō]", "[ōng]", "[ōu]", "[ū]", "[ūn]", "[ǎ]", "[ǎi]",
    "[ǎn]", "[ǎng]", "[ǎo]", "[ǐ]", "[ǐn]", "[ǐng]", "[ǒ]", "[ǒng]", "[ǒu]", "[ǔ]", "[ǔn]", "[ǘ]", "[ǚ]", "[ǜ]",
]
CV3_SPECIAL_TOKENS = CV3_TAG_TOKENS + CV3_CMU_TOKENS + CV3_PINYIN_TOKENS
CV3_EOS_TOKEN = "<|endoftext|>"

ENDOFPROMPT_ID = 151646
BLANKEN_LAST_ADDED_ID = 151645   # <|im_end|>: BlankEN's added tokens are 151643..151645
ENDOFTEXT_ID = 151643


def bytes_to_unicode() -> Dict[int, str]:
    """GPT-2's reversible byte -> printable character map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


class AddedToken:
    __slots__ = ("content", "id", "special")

    def __init__(self, content: str, id: int, special: bool):
        self.content, self.id, self.special = content, int(id), bool(special)

    def __repr__(self):
        return "AddedToken(%r, %d, special=%s)" % (self.content, self.id, self.special)


def _load_tokenizer_json(path):
    with open(path, encoding="utf-8") as f:
        d = json.load(f)
    model = d["model"]
    if model.get("type") != "BPE":
        raise ValueError("%s: expected a BPE model, got %r" % (path, model.get("type")))
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    added = [AddedToken(a["content"], a["id"], a.get("special", False)) for a in d.get("added_tokens", [])]
    return model["vocab"], merges, added


def _load_vocab_merges(directory):
    with open(os.path.join(directory, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    merges = []
    with open(os.path.join(directory, "merges.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line or line.startswith("#version"):
                continue
            a, b = line.split(" ")
            merges.append((a, b))
    added = []
    cfg = os.path.join(directory, "tokenizer_config.json")
    if os.path.exists(cfg):
        with open(cfg, encoding="utf-8") as f:
            c = json.load(f)
        for k, v in sorted(c.get("added_tokens_decoder", {}).items(), key=lambda kv: int(kv[0])):
            added.append(AddedToken(v["content"], int(k), v.get("special", False)))
    return vocab, merges, added


def load_tokenizer_files(path, max_added_id: Optional[int] = None):
    """(vocab, merges, added tokens) from a BlankEN-style directory (vocab.json + merges.txt
    + tokenizer_config.json), a directory with tokenizer.json, or a tokenizer.json file.

    max_added_id drops added tokens above that id: the vendored Qwen2.5 tokenizer.json carries 22
    added tokens (151643..151664) where CosyVoice-BlankEN (Qwen2) has 3, so pass
    BLANKEN_LAST_ADDED_ID (151645) to reproduce BlankEN from it."""
    path = os.fspath(path)
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, "vocab.json")) and os.path.exists(os.path.join(path, "merges.txt")):
            vocab, merges, added = _load_vocab_merges(path)
        elif os.path.exists(os.path.join(path, "tokenizer.json")):
            vocab, merges, added = _load_tokenizer_json(os.path.join(path, "tokenizer.json"))
        else:
            raise FileNotFoundError("%s: expected vocab.json + merges.txt (+ tokenizer_config.json) or tokenizer.json"
                                    % path)
    elif os.path.exists(path):
        vocab, merges, added = _load_tokenizer_json(path)
    else:
        raise FileNotFoundError("%s: no such tokenizer file or directory" % path)
    if max_added_id is not None:
        added = [a for a in added if a.id <= max_added_id]
    return vocab, merges, added


class Qwen2Tokenizer:
    """Byte-level BPE with the Qwen2 pre-tokenizer, NFC normaliser and an added-token vocabulary."""

    def __init__(self, vocab: Dict[str, int], merges: Sequence[Tuple[str, str]],
                 added: Sequence[AddedToken] = (), skip_special_tokens: bool = True):
        self.vocab = dict(vocab)
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.ranks = {tuple(m): r for r, m in enumerate(merges)}
        self.byte_encoder = bytes_to_unicode()
        self.byte_decoder = {c: b for b, c in self.byte_encoder.items()}
        self.split_re = regex.compile(QWEN2_SPLIT_PATTERN)
        self.skip_special_tokens = skip_special_tokens
        self.added: Dict[str, AddedToken] = {}
        self.added_by_id: Dict[int, AddedToken] = {}
        self._cache: Dict[str, List[int]] = {}
        self._added_re = None
        for t in added:
            self._register(t)

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_path(cls, path, max_added_id: Optional[int] = None, **kw) -> "Qwen2Tokenizer":
        return cls(*load_tokenizer_files(path, max_added_id), **kw)

    # ------------------------------------------------------------------ added tokens
    def _register(self, t: AddedToken) -> None:
        self.added[t.content] = t
        self.added_by_id[t.id] = t
        self._added_re = None

    def __len__(self) -> int:
        ids = set(self.vocab.values()) | set(self.added_by_id)
        return max(ids) + 1 if ids else 0

    def add_special_tokens(self, tokens: Sequence[str]) -> int:
        """HF AddedVocabulary.add_tokens(special=True): returns how many new ids were created.

        An existing added token is only marked special; a string already in the BPE vocabulary
        becomes an added token with that id; anything else gets max(vocab size, max added id + 1)."""
        n_new = 0
        for content in tokens:
            if not content:
                continue
            if content in self.added:
                t = self.added[content]
                t.special = True
                continue
            if content in self.vocab:
                tid = self.vocab[content]
            else:
                base = len(self.vocab)
                tid = max(base, max(self.added_by_id) + 1) if self.added_by_id else base
                n_new += 1
            self._register(AddedToken(content, tid, True))
        return n_new

    def token_to_id(self, token: str) -> Optional[int]:
        if token in self.added:
            return self.added[token].id
        return self.vocab.get(token)

    def _added_pattern(self):
        if self._added_re is None and self.added:
            # leftmost-longest: at each position the longest added token wins
            alts = sorted(self.added, key=lambda s: (-len(s), s))
            self._added_re = regex.compile("|".join(regex.escape(a) for a in alts))
        return self._added_re

    # ------------------------------------------------------------------ BPE
    def _bpe(self, word: str) -> List[str]:
        """Merge the characters of one byte-mapped piece, lowest merge rank first (leftmost on ties)."""
        import heapq

        sym = list(word)
        n = len(sym)
        if n < 2:
            return sym
        ranks = self.ranks
        nxt = list(range(1, n + 1))
        nxt[-1] = -1
        prv = list(range(-1, n - 1))
        alive = [True] * n
        heap = []
        for i in range(n - 1):
            r = ranks.get((sym[i], sym[i + 1]))
            if r is not None:
                heap.append((r, i))
        heapq.heapify(heap)
        while heap:
            r, i = heapq.heappop(heap)
            if not alive[i]:
                continue
            j = nxt[i]
            if j < 0 or ranks.get((sym[i], sym[j])) != r:
                continue  # stale entry
            sym[i] = sym[i] + sym[j]
            alive[j] = False
            k = nxt[j]
            nxt[i] = k
            if k >= 0:
                prv[k] = i
                rk = ranks.get((sym[i], sym[k]))
                if rk is not None:
                    heapq.heappush(heap, (rk, i))
            p = prv[i]
            if p >= 0:
                rp = ranks.get((sym[p], sym[i]))
                if rp is not None:
                    heapq.heappush(heap, (rp, p))
        out = []
        i = 0
        while i >= 0:
            out.append(sym[i])
            i = nxt[i]
        return out

    def _encode_piece(self, piece: str) -> List[int]:
        cached = self._cache.get(piece)
        if cached is not None:
            return cached
        mapped = "".join(self.byte_encoder[b] for b in piece.encode("utf-8"))
        ids = []
        for tok in self._bpe(mapped):
            tid = self.vocab.get(tok)
            if tid is None:  # cannot happen with a complete byte-level vocabulary
                raise KeyError("BPE produced %r, which is not in the vocabulary" % tok)
            ids.append(tid)
        if len(self._cache) < 200_000:
            self._cache[piece] = ids
        return ids

    def _encode_plain(self, text: str, out: List[int]) -> None:
        text = unicodedata.normalize("NFC", text)
        pos = 0
        for m in self.split_re.finditer(text):
            if m.start() > pos:  # "Isolated" split keeps unmatched gaps as pieces
                out.extend(self._encode_piece(text[pos:m.start()]))
            if m.end() > m.start():
                out.extend(self._encode_piece(m.group()))
            pos = m.end()
        if pos < len(text):
            out.extend(self._encode_piece(text[pos:]))

    def encode(self, text: str, **_ignored) -> List[int]:
        """Token ids of ``text``; no BOS/EOS.  Extra keyword arguments (e.g. upstream's
        ``allowed_special``) are accepted and ignored, as HF ignores them."""
        out: List[int] = []
        pat = self._added_pattern()
        pos = 0
        if pat is not None:
            for m in pat.finditer(text):
                if m.start() > pos:
                    self._encode_plain(text[pos:m.start()], out)
                out.append(self.added[m.group()].id)
                pos = m.end()
        if pos < len(text):
            self._encode_plain(text[pos:], out)
        return out

    def decode(self, ids: Sequence[int], skip_special_tokens: Optional[bool] = None) -> str:
        """Hugging Face's decode for this configuration (what upstream CosyVoice3Tokenizer.decode
        returns): each token string goes through the ByteLevel decoder (a token whose characters
        are all in the byte map becomes those bytes, any other token its own UTF-8), the byte
        string is decoded with invalid sequences replaced by U+FFFD.  Special added tokens are
        dropped when skip_special_tokens (default: the constructor's setting, True upstream).
        Note: like HF, an added token such as "[à]" decodes to "[\ufffd]" because 'à' is also
        a byte-map character."""
        if skip_special_tokens is None:
            skip_special_tokens = self.skip_special_tokens
        buf = bytearray()
        dec = self.byte_decoder
        for i in ids:
            i = int(i)
            t = self.added_by_id.get(i)
            if t is not None:
                if t.special and skip_special_tokens:
                    continue
                tok = t.content
            else:
                tok = self.id_to_token.get(i)
                if tok is None:
                    raise KeyError("token id %d is not in the vocabulary" % i)
            if all(c in dec for c in tok):
                buf.extend(dec[c] for c in tok)
            else:
                buf.extend(tok.encode("utf-8"))
        return buf.decode("utf-8", errors="replace")


class CosyVoice3Tokenizer(Qwen2Tokenizer):
    """Qwen2 BPE from CosyVoice-BlankEN plus CosyVoice3's special tokens (upstream CosyVoice3Tokenizer)."""

    def __init__(self, path, skip_special_tokens: bool = True, max_base_added_id: Optional[int] = None):
        """path: CosyVoice-BlankEN/ (or a tokenizer.json); see load_tokenizer_files for max_base_added_id."""
        super().__init__(*load_tokenizer_files(path, max_base_added_id), skip_special_tokens=skip_special_tokens)
        self.add_special_tokens([CV3_EOS_TOKEN])  # eos_token / pad_token
        self.add_special_tokens(CV3_SPECIAL_TOKENS)

    @property
    def endofprompt_id(self) -> int:
        return self.added["<|endofprompt|>"].id
