"""The PyTorch reference pipeline of CosyVoice3 and the ``reference`` command.

    /usr/bin/python3 -m cosyvoice_export reference --checkpoint DIR --mode zero_shot \\
        --text "..." --prompt-wav voice.wav --prompt-text "..." --seed 0 -o out.wav

Library::

    ref = ReferencePipeline(checkpoint_dir, bundle_dir=None)
    voice = ref.prepare_voice("voice.wav", "transcript")
    wav = ref.synthesize("zero_shot", "text", voice, seed=0)                 # float32 [N] at 24 kHz
    wav, chunks = ref.synthesize("zero_shot", "text", voice, stream=True)    # + per-chunk list

This is the behaviour the C++ engine reproduces stage by stage; every convention (prompt text
rules, segment seeding, streaming schedule, deviations from upstream) is written down in
docs/reference.md.  The pieces:

* voice preparation (upstream frontend): x16/x24 -> whisper log-mel -> speech tokens, Kaldi fbank
  (CMN) -> CAM++ embedding, Matcha mel; 2:1 alignment K = min(T24 // 2, Ntok);
* text: normalisation and splitting (frontend/text.py), the per-mode prompt strings, the Qwen2
  tokenizer with the CosyVoice3 specials;
* LLM: ``[sos] + E_t(prompt ++ text) + [task_id] + E_s(prompt speech)``, RAS sampling with the
  seeded xoshiro256** stream of docs/determinism.md (seed + segment index), silent-token filter;
* flow: ``CausalMaskedDiffWithDiT.inference`` over the fixed seed-0 noise;
* HiFT: F0 -> NSF harmonics (fixed MT19937 uniform noise) -> merge + STFT -> generator -> ISTFT,
  composed explicitly so that every intermediate the engine's graphs see can be traced;
* streaming (spec §8) with the hop schedule reset per request.

``trace`` (a dict passed to :meth:`ReferencePipeline.synthesize`) receives every intermediate:
``trace["segments"]`` (one dict per text segment), ``trace["chunks"]`` (streaming schedule) and
``trace["wav"]``.  The ``goldens`` command writes them to disk.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

from . import checkpoint, noise, sampling
from .frontend import audio as faudio
from .frontend import features
from .frontend.text import text_normalize
from .frontend.tokenizer import AddedToken, CosyVoice3Tokenizer, Qwen2Tokenizer

HELP = "run the PyTorch reference pipeline on a checkpoint and write a 24 kHz WAV"

PathLike = Union[str, Path]

MODES = ("zero_shot", "cross_lingual", "instruct2", "vc")
SYSTEM_PROMPT = "You are a helpful assistant."
ENDOFPROMPT = "<|endofprompt|>"
# zero-shot transcript / cross-lingual text prefix (no space before the marker)
PROMPT_PREFIX = SYSTEM_PROMPT + ENDOFPROMPT
# streaming (CosyVoice3Model): token_hop_len 25, token_max_hop_len 4 * 25, stream_scale_factor 2
STREAM_HOP = 25
STREAM_MAX_HOP = 100
STREAM_SCALE = 2
MASK64 = (1 << 64) - 1


class ReferenceError(ValueError):
    """A request the reference refuses (bad mode/arguments, text with two <|endofprompt|>, ...)."""


# ---------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------

def _stderr_log(msg: str) -> None:
    print(f"[reference] {msg}", file=sys.stderr, flush=True)


def sha256_file(path: PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def segment_seed(seed: int, segment_index: int) -> int:
    """The RAS stream of text segment ``s`` is seeded with ``seed + s`` (uint64 wrap)."""
    return (int(seed) + int(segment_index)) & MASK64


def to_pcm16(wav: np.ndarray) -> np.ndarray:
    """Upstream's servers: ``(x * 2**15).astype(int16)`` (truncation toward zero); the waveform is
    already clamped to +-0.99, so nothing overflows."""
    return (np.asarray(wav, dtype=np.float32) * np.float32(32768.0)).astype(np.int16)


def write_wav(path: PathLike, wav: np.ndarray, sample_rate: int = 24000) -> None:
    """Mono 16-bit PCM WAV (see :func:`to_pcm16`)."""
    pcm = to_pcm16(wav)
    with wave.open(os.fspath(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(pcm.astype("<i2").tobytes())


def stream_schedule(n_tokens: int, n_prompt_tokens: int, pre_lookahead: int = 3, hop: int = STREAM_HOP,
                    max_hop: int = STREAM_MAX_HOP, scale: int = STREAM_SCALE) -> List[Dict[str, int]]:
    """Upstream's streaming loop (CosyVoice2Model.tts, stream=True) once the LLM has finished,
    with the hop reset for each request: a list of chunks ``{offset, hop, token_end, final}``.

    A non-final chunk is emitted while ``n_tokens - offset >= hop_now + pre_lookahead``, where
    ``hop_now = hop + pad`` for the first chunk (``pad = ceil(K / hop) * hop - K``) and the current
    hop afterwards; it runs the flow on ``tokens[:offset + hop_now + pre_lookahead]``.  The hop
    then doubles up to ``max_hop``.  The final chunk runs on all tokens."""
    pad = int(math.ceil(n_prompt_tokens / hop) * hop - n_prompt_tokens)
    out: List[Dict[str, int]] = []
    offset, cur = 0, hop
    while True:
        hop_now = cur + pad if offset == 0 else cur
        if n_tokens - offset >= hop_now + pre_lookahead:
            out.append({"offset": offset, "hop": hop_now, "token_end": offset + hop_now + pre_lookahead,
                        "final": False})
            offset += hop_now
            cur = min(max_hop, cur * scale)
        else:
            break
    out.append({"offset": offset, "hop": n_tokens - offset, "token_end": n_tokens, "final": True})
    return out


def count_endofprompt(text: str) -> int:
    return text.count(ENDOFPROMPT)


# ---------------------------------------------------------------------------------------------
# data classes
# ---------------------------------------------------------------------------------------------

@dataclass
class Voice:
    """A prepared prompt voice (upstream frontend output) with every intermediate.

    Arrays are numpy: x16 [N16], x24 [N24] float32; whisper [128, T]; fbank [M, 80] (after CMN);
    mel [T24, 80] (Matcha); speech_tokens_raw int32 [Ntok]; embedding float32 [192];
    speech_tokens int32 [K]; prompt_mel float32 [2K, 80]."""
    wav_path: str
    transcript: str
    x16: np.ndarray
    x24: np.ndarray
    whisper: np.ndarray
    speech_tokens_raw: np.ndarray
    fbank: np.ndarray
    embedding: np.ndarray
    mel: np.ndarray
    speech_tokens: np.ndarray
    prompt_mel: np.ndarray

    @property
    def K(self) -> int:
        return int(self.speech_tokens.shape[0])


@dataclass
class SegmentPlan:
    """One text segment: the exact strings fed to the tokenizer and their ids."""
    index: int
    segment: str            # the normalised segment of the user's text
    prompt_text: str        # prompt/instruct string tokenised into prompt_ids ("" for cross-lingual)
    tts_text: str           # string tokenised into text_ids (cross-lingual: prefix + segment)
    prompt_ids: List[int]
    text_ids: List[int]
    use_prompt_speech: bool  # zero-shot: the voice's prompt tokens follow task_id


@dataclass
class _HiftNoise:
    """The fixed uniform HiFT source noise, generated once and grown on demand."""
    seed: int = noise.HIFT_NOISE_SEED
    skip: int = noise.HIFT_NOISE_SKIP
    buf: Optional[torch.Tensor] = None

    def get(self, n: int) -> torch.Tensor:
        if self.buf is None or self.buf.shape[1] < n:
            m = max(int(n), 24000 * 10)
            m = min(m, noise.HIFT_NOISE_MAX_SAMPLES)
            if n > m:
                raise ReferenceError(f"HiFT source noise holds {noise.HIFT_NOISE_MAX_SAMPLES} samples, asked for {n}")
            if (self.seed, self.skip) == (noise.HIFT_NOISE_SEED, noise.HIFT_NOISE_SKIP):
                arr = noise.hift_source_noise(m)
            else:
                rng = noise.MT19937(self.seed)
                rng.discard(self.skip)
                arr = noise.u32_to_unit_float32(rng.random_u32(m * noise.HIFT_HARMONICS)).reshape(
                    1, m, noise.HIFT_HARMONICS)
            self.buf = torch.from_numpy(arr)
        return self.buf[:, :n]


# ---------------------------------------------------------------------------------------------
# bundle files (docs/bundle.md)
# ---------------------------------------------------------------------------------------------

def _load_bundle_tokenizer(bundle: Path, cfg: Dict[str, Any]) -> Qwen2Tokenizer:
    tok = cfg.get("tokenizer", {})
    vocab_path = bundle / tok.get("vocab", "tokenizer/vocab.json")
    merges_path = bundle / tok.get("merges", "tokenizer/merges.txt")
    added_path = bundle / tok.get("added_tokens", "tokenizer/added_tokens.json")
    vocab = json.loads(vocab_path.read_text(encoding="utf-8"))
    merges = []
    for line in merges_path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#version"):
            continue
        a, b = line.split(" ")
        merges.append((a, b))
    added_obj = json.loads(added_path.read_text(encoding="utf-8"))
    if isinstance(added_obj, dict):
        added_obj = added_obj.get("added_tokens", added_obj.get("tokens", []))
    added = [AddedToken(a["content"], int(a["id"]), bool(a.get("special", True))) for a in added_obj]
    return Qwen2Tokenizer(vocab, merges, sorted(added, key=lambda a: a.id))


def _assert_same_tokenizer(a: Qwen2Tokenizer, b: Qwen2Tokenizer, where: str) -> None:
    if a.vocab != b.vocab:
        raise ReferenceError(f"{where}: vocab.json differs from the checkpoint's CosyVoice-BlankEN vocabulary")
    if a.ranks != b.ranks:
        raise ReferenceError(f"{where}: merges.txt differs from the checkpoint's CosyVoice-BlankEN merges")
    am = {t.content: t.id for t in a.added.values()}
    bm = {t.content: t.id for t in b.added.values()}
    if am != bm:
        diff = sorted(set(am.items()) ^ set(bm.items()), key=lambda kv: kv[1])[:5]
        raise ReferenceError(f"{where}: added tokens differ from the checkpoint tokenizer's (e.g. {diff})")


# ---------------------------------------------------------------------------------------------
# the pipeline
# ---------------------------------------------------------------------------------------------

class ReferencePipeline:
    """The PyTorch reference of the whole CosyVoice3 inference pipeline.

    ``checkpoint_dir``: a released (or ``tiny``) model directory.  ``bundle_dir``: optional; when
    given, its flow noise and tokenizer files are used and asserted identical to what the
    checkpoint gives, its ``hift.source_noise`` parameters are used for the HiFT noise, and its
    copies of the two frontend graphs are used.  ``threads``: ONNX Runtime intra-op threads for
    the frontend graphs.  ``log``: progress callback (default: stderr)."""

    def __init__(self, checkpoint_dir: PathLike, bundle_dir: Optional[PathLike] = None, threads: int = 1,
                 log: Optional[Callable[[str], None]] = _stderr_log, components: Sequence[str] = ("llm", "flow", "hift")):
        self.log = log or (lambda s: None)
        self.checkpoint_dir = Path(checkpoint_dir)
        self.bundle_dir = Path(bundle_dir) if bundle_dir is not None else None
        self.threads = int(threads)
        t0 = time.time()
        loaded = checkpoint.load_model_dir(self.checkpoint_dir, components)
        self.cfg = loaded.config
        self.llm, self.flow, self.hift = loaded.llm, loaded.flow, loaded.hift
        self.tokenizer: Qwen2Tokenizer = CosyVoice3Tokenizer(self.checkpoint_dir / "CosyVoice-BlankEN")
        self.flow_noise = noise.flow_noise()                       # [1, 80, 15000]
        self.hift_noise = _HiftNoise()
        self.system_prompt = SYSTEM_PROMPT
        self.bundle_config: Optional[Dict[str, Any]] = None
        self.bundle_config_sha256: Optional[str] = None
        frontend_dir = self.checkpoint_dir
        campplus = frontend_dir / "campplus.onnx"
        speech_tok = frontend_dir / "speech_tokenizer_v3.onnx"
        if self.bundle_dir is not None:
            cfg_path = self.bundle_dir / "config.json"
            if not cfg_path.is_file():
                raise ReferenceError(f"{self.bundle_dir}: no config.json; not a model bundle")
            self.bundle_config = json.loads(cfg_path.read_text(encoding="utf-8"))
            self.bundle_config_sha256 = sha256_file(cfg_path)
            bt = _load_bundle_tokenizer(self.bundle_dir, self.bundle_config)
            _assert_same_tokenizer(self.tokenizer, bt, f"{self.bundle_dir}/tokenizer")
            self.tokenizer = bt
            self.system_prompt = self.bundle_config.get("tokenizer", {}).get("system_prompt", SYSTEM_PROMPT)
            noise_rel = self.bundle_config.get("flow", {}).get("noise", "flow/flow_noise.npy")
            bn = np.load(self.bundle_dir / noise_rel)
            want = self.flow_noise[0].numpy()
            if bn.dtype != np.float32 or bn.shape != want.shape or not np.array_equal(bn, want):
                raise ReferenceError(f"{self.bundle_dir / noise_rel}: flow noise differs from "
                                     f"torch.manual_seed(0); torch.randn(1, 80, 15000) of this torch build")
            self.flow_noise = torch.from_numpy(np.ascontiguousarray(bn))[None]
            sn = self.bundle_config.get("hift", {}).get("source_noise")
            if sn:
                self.hift_noise = _HiftNoise(int(sn.get("seed", 0)), int(sn.get("skip", noise.HIFT_NOISE_SKIP)))
            fe = self.bundle_config.get("frontend", {})
            cp = fe.get("campplus", {}).get("file")
            st = fe.get("speech_tokenizer", {}).get("file")
            if cp and (self.bundle_dir / cp).is_file():
                campplus = self.bundle_dir / cp
            if st and (self.bundle_dir / st).is_file():
                speech_tok = self.bundle_dir / st
        self.campplus_path, self.speech_tokenizer_path = campplus, speech_tok
        self._campplus = None
        self._speech_tokenizer = None
        self.log(f"loaded {self.checkpoint_dir} ({', '.join(components)}) in {time.time() - t0:.1f} s"
                 + (f"; bundle {self.bundle_dir}" if self.bundle_dir else ""))

    # ---- frontend graphs ------------------------------------------------------------------------
    def close(self) -> None:
        """Release the ONNX Runtime sessions of the frontend graphs (reopened on demand)."""
        for name in ("_campplus", "_speech_tokenizer"):
            g = getattr(self, name, None)
            if g is not None:
                g.close()
                setattr(self, name, None)

    def __enter__(self) -> "ReferencePipeline":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _graph(self, which: str):
        from .ort import OrtGraph
        if which == "campplus":
            if self._campplus is None:
                self._campplus = OrtGraph(self.campplus_path, threads=self.threads)
            return self._campplus
        if self._speech_tokenizer is None:
            self._speech_tokenizer = OrtGraph(self.speech_tokenizer_path, threads=self.threads)
        return self._speech_tokenizer

    def speech_tokens(self, whisper: np.ndarray) -> np.ndarray:
        """whisper log-mel [128, T] -> speech tokens int32 [Ntok] (inputs fed positionally, as
        upstream does: ``feats`` [1, 128, T] float32, ``feats_length`` int32 [1])."""
        g = self._graph("speech_tokenizer")
        names = g.input_names
        feats = np.ascontiguousarray(whisper[None].astype(np.float32))
        out = g.run({names[0]: feats, names[1]: np.array([whisper.shape[1]], dtype=np.int32)})
        return np.asarray(out[g.output_names[0]]).reshape(-1).astype(np.int32)

    def speaker_embedding(self, fbank: np.ndarray) -> np.ndarray:
        g = self._graph("campplus")
        out = g.run({g.input_names[0]: np.ascontiguousarray(fbank[None].astype(np.float32))})
        return np.asarray(out[g.output_names[0]], dtype=np.float32).reshape(-1)

    # ---- voice ----------------------------------------------------------------------------------
    def prepare_voice(self, wav: PathLike, transcript: Optional[str] = None) -> Voice:
        """Upstream's frontend on a prompt recording (30 s limit for the speech tokenizer)."""
        t0 = time.time()
        x16, x24 = faudio.load_prompt_wavs(wav)
        x16n = x16[0].numpy().astype(np.float32)
        x24n = x24[0].numpy().astype(np.float32)
        whisper = features.whisper_log_mel(x16n, n_mels=128)
        raw = self.speech_tokens(whisper)
        fbank = features.kaldi_fbank(x16n, cmn=True)
        emb = self.speaker_embedding(fbank)
        mel = features.matcha_mel(x24n, fmax=self.cfg.feat.fmax)
        K = min(mel.shape[0] // 2, raw.shape[0])
        if K < 1:
            raise faudio.AudioError(f"{os.fspath(wav)}: prompt too short: {mel.shape[0]} mel frames and "
                                    f"{raw.shape[0]} speech tokens give no aligned prompt token")
        v = Voice(wav_path=os.fspath(wav), transcript=transcript or "", x16=x16n, x24=x24n, whisper=whisper,
                  speech_tokens_raw=raw, fbank=fbank, embedding=emb, mel=mel,
                  speech_tokens=raw[:K].copy(), prompt_mel=np.ascontiguousarray(mel[:2 * K]))
        self.log(f"voice {os.fspath(wav)}: {x16n.shape[0] / 16000:.2f} s, {raw.shape[0]} tokens, "
                 f"{mel.shape[0]} mel frames -> K = {K} ({time.time() - t0:.2f} s)")
        return v

    def source_tokens(self, source_wav: PathLike) -> Tuple[np.ndarray, np.ndarray]:
        """VC source audio -> (whisper log-mel [128, T], speech tokens int32) (30 s limit)."""
        x16 = faudio.load_wav(source_wav, 16000)
        faudio.check_tokenizer_duration(x16, source_wav)
        whisper = features.whisper_log_mel(x16[0].numpy().astype(np.float32), n_mels=128)
        return whisper, self.speech_tokens(whisper)

    # ---- text -----------------------------------------------------------------------------------
    def encode(self, text: str) -> List[int]:
        return list(self.tokenizer.encode(text))

    def normalize(self, text: str) -> List[str]:
        return text_normalize(text, self.encode, split=True)

    def plan_segments(self, mode: str, text: str, voice: Optional[Voice] = None,
                      instruct: Optional[str] = None) -> List[SegmentPlan]:
        """The per-segment tokenizer strings of a request (docs/reference.md §2)."""
        if mode not in ("zero_shot", "cross_lingual", "instruct2"):
            raise ReferenceError(f"mode {mode!r} has no text segments")
        if text is None or not text.strip():
            raise ReferenceError("empty text: nothing to synthesize")
        segments = self.normalize(text)
        if not segments:
            raise ReferenceError(f"text {text!r} has nothing to speak after normalisation")
        prompt = self.prompt_string(mode, voice, instruct)
        plans = []
        for i, seg in enumerate(segments):
            tts = seg
            if mode == "cross_lingual" and ENDOFPROMPT not in seg:
                tts = self.system_prompt + ENDOFPROMPT + seg
            n_eop = count_endofprompt(prompt) + count_endofprompt(tts)
            if n_eop != 1:
                raise ReferenceError(f"segment {i}: the prompt and text together hold {n_eop} "
                                     f"'{ENDOFPROMPT}' markers; CosyVoice3 needs exactly one "
                                     f"(prompt {prompt!r}, text {tts!r})")
            plans.append(SegmentPlan(i, seg, prompt, tts, self.encode(prompt) if prompt else [], self.encode(tts),
                                     mode == "zero_shot"))
        return plans

    def prompt_string(self, mode: str, voice: Optional[Voice] = None, instruct: Optional[str] = None) -> str:
        """The prompt text of a mode: zero-shot ``system + <|endofprompt|> + transcript`` (the
        transcript as is when it holds the marker), instruct2 the instruction (wrapped as
        ``system instruction<|endofprompt|>`` when bare), cross-lingual none."""
        if mode == "zero_shot":
            transcript = (voice.transcript if voice is not None else "") or ""
            if not transcript.strip():
                raise ReferenceError("zero_shot needs the prompt transcript (--prompt-text)")
            return transcript if ENDOFPROMPT in transcript else self.system_prompt + ENDOFPROMPT + transcript
        if mode == "instruct2":
            if instruct is None or not instruct.strip():
                raise ReferenceError("instruct2 needs an instruction (--instruct)")
            at = instruct.find(ENDOFPROMPT)
            if at < 0:
                return f"{self.system_prompt} {instruct}{ENDOFPROMPT}"
            if at + len(ENDOFPROMPT) != len(instruct):
                raise ReferenceError(f"instruction {instruct!r}: {ENDOFPROMPT} must end the instruction "
                                     f"(the text to speak comes after it)")
            return instruct
        return ""

    # ---- text-in streaming ----------------------------------------------------------------------
    def synthesize_text_stream(self, mode: str, pieces, voice: Voice, instruct: Optional[str] = None, seed: int = 0,
                               n_timesteps: int = 10, cfg_rate: float = 0.7, stream: bool = False,
                               stream_mode: str = "recompute", stream_schedule: str = "upstream",
                               max_tokens: Optional[int] = None, trace: Optional[Dict[str, Any]] = None):
        """Text that arrives in pieces (upstream's ``inference_bistream``, bistream.py): each piece
        (a string) is tokenized on its own and fed token by token to the interleaved decode loop;
        no normalisation or splitting (upstream skips them for a generator).  zero_shot or
        instruct2 (upstream needs <|endofprompt|> in the prompt text, which cross-lingual lacks).
        Returns the waveform, or ``(waveform, chunks)`` with ``stream``.  ``trace`` receives
        ``pieces`` (their token ids), ``tokens`` (emitted), ``flow_tokens`` and ``sampled`` (with fills)."""
        from . import bistream, streaming
        if mode not in ("zero_shot", "instruct2"):
            raise ReferenceError(f"text streaming supports zero_shot and instruct2, not {mode!r} "
                                 f"(upstream needs {ENDOFPROMPT} in the prompt text)")
        if stream_mode not in streaming.MODES:
            raise ReferenceError(f"unknown stream mode {stream_mode!r}")
        prompt = self.prompt_string(mode, voice, instruct)
        speech = voice.speech_tokens.tolist() if mode == "zero_shot" else []
        eop = self.encode(ENDOFPROMPT)
        b = bistream.BistreamLM(self.llm, self.encode(prompt), speech, segment_seed(seed, 0), endofprompt_id=eop[0],
                                max_tokens=max_tokens)
        piece_ids, toks = [], []
        for piece in pieces:
            ids = self.encode(piece) if piece else []
            piece_ids.append(ids)
            toks += b.push(ids)
        if b.text_fed == 0:
            raise ReferenceError("empty text: nothing to synthesize")
        toks += b.finish()
        flow_toks = sampling.SilentTokenFilter(sampling.MAX_SILENT_RUN).filter(toks)
        self.log(f"text stream: {len(piece_ids)} pieces, {b.text_fed} text tokens -> {len(toks)} speech tokens")
        if trace is not None:
            trace.update(pieces=piece_ids, tokens=list(toks), flow_tokens=list(flow_toks), sampled=list(b.out),
                         sampling_margin=list(b.margins), logit_peak=list(b.logit_peaks))
        if not flow_toks:
            raise ReferenceError("the text produced no speech tokens")
        chunks: List[np.ndarray] = []
        if stream:
            if stream_mode == "recompute":
                wav = self._stream_segment(0, flow_toks, voice, n_timesteps, cfg_rate, chunks, [], {}, False)
            else:
                wav = self._stream_segment_incremental(0, flow_toks, voice, n_timesteps, cfg_rate, chunks, [], {},
                                                       False, stream_mode, stream_schedule)
            return wav, chunks
        mel = self.run_flow(flow_toks, voice, False, True, n_timesteps, cfg_rate)
        vt: Dict[str, Any] = {}
        wav = self.vocode(mel, True, trace=vt)[0].numpy().copy()
        if trace is not None:
            trace["magnitude_peak"] = vt["magnitude_peak"]
        return wav

    # ---- LLM ------------------------------------------------------------------------------------
    def lm_input(self, plan: SegmentPlan, voice: Voice) -> torch.Tensor:
        sp = voice.speech_tokens.tolist() if plan.use_prompt_speech else []
        with torch.no_grad():
            return self.llm.prompt_embeds(plan.prompt_ids + plan.text_ids, sp)

    def length_limits(self, plan: SegmentPlan, min_tokens: Optional[int] = None,
                      max_tokens: Optional[int] = None) -> Tuple[int, int]:
        """(min_len, max_len) from the tts-text token count (spec §5.3), then the engine's
        ``min_tokens`` floor and ``max_tokens`` cap (C++ SynthesisOptions; None or 0 = unset):
        ``max_len = min(max_len, max_tokens)``, ``min_len = min(max(min_len, min_tokens), max_len)``."""
        lo, hi = sampling.length_limits(len(plan.text_ids), self.cfg.llm.min_token_text_ratio,
                                        self.cfg.llm.max_token_text_ratio)
        if max_tokens:
            hi = min(hi, int(max_tokens))
        if min_tokens:
            lo = max(lo, int(min_tokens))
        return min(lo, hi), hi

    def generate(self, lm_input: torch.Tensor, min_len: int, max_len: int, seed: int,
                 record_logits: bool = False, timings: Optional[Dict[str, float]] = None
                 ) -> Tuple[List[int], Optional[np.ndarray], Optional[int]]:
        """Upstream's decode loop (spec §5.4) with the RAS sampler of docs/determinism.md.

        Returns (emitted tokens, logits [steps, 6761] float32 or None, the sampled stop id or None
        when max_len ended the loop).  ``steps`` counts every forward step, the one that sampled
        the stop id included."""
        s = self.cfg.llm.sampling
        sampler = sampling.RasSampler(seed, top_p=s.top_p, top_k=s.top_k, win_size=s.win_size, tau_r=s.tau_r,
                                      speech_token_size=self.cfg.llm.speech_token_size)
        out: List[int] = []
        logits_rows: List[np.ndarray] = []
        stop: Optional[int] = None
        t_pre = t_dec = 0.0
        with torch.no_grad():
            t0 = time.perf_counter()
            h, cache = self.llm(lm_input)
            t_pre = time.perf_counter() - t0
            t0 = time.perf_counter()
            steps = 0
            for i in range(max_len):
                steps += 1
                if i > 0:
                    x = self.llm.embed_speech(torch.tensor([[out[-1]]], dtype=torch.long))
                    h, cache = self.llm(x, cache)
                logits = self.llm.logits(h[0, -1]).float().numpy()
                if record_logits:
                    logits_rows.append(logits.copy())
                tok = sampler.step(logits, out, i, min_len)
                if sampler.is_stop(tok):
                    stop = tok
                    break
                out.append(tok)
            t_dec = time.perf_counter() - t0
        if timings is not None:
            timings["llm_prefill"] = timings.get("llm_prefill", 0.0) + t_pre
            timings["llm_decode"] = timings.get("llm_decode", 0.0) + t_dec
            timings["llm_tokens"] = timings.get("llm_tokens", 0) + len(out)
            timings["llm_steps"] = timings.get("llm_steps", 0) + steps        # forward passes, prefill included
        logits_arr = np.stack(logits_rows).astype(np.float32) if record_logits else None
        return out, logits_arr, stop

    # ---- flow -----------------------------------------------------------------------------------
    def run_flow(self, tokens: Sequence[int], voice: Voice, streaming: bool, finalize: bool,
                 n_timesteps: int, cfg_rate: float) -> torch.Tensor:
        """Generated mel [1, 80, 2N'] (N' = N, or N - 3 when not finalizing)."""
        tok = torch.tensor([list(tokens)], dtype=torch.int32)
        ptok = torch.from_numpy(voice.speech_tokens.astype(np.int32))[None]
        pfeat = torch.from_numpy(voice.prompt_mel)[None]
        emb = torch.from_numpy(voice.embedding)[None]
        return self.flow.inference(tok, ptok, pfeat, emb, self.flow_noise, streaming=streaming, finalize=finalize,
                                   n_timesteps=n_timesteps, cfg_rate=cfg_rate)

    def flow_mu(self, tokens: Sequence[int], voice: Voice) -> np.ndarray:
        """The encoder output over prompt + generated tokens, finalize form: [80, 2(K + N)]."""
        with torch.no_grad():
            inp = self.flow.encode(torch.tensor([list(tokens)], dtype=torch.int32),
                                   torch.from_numpy(voice.speech_tokens.astype(np.int32))[None],
                                   torch.from_numpy(voice.prompt_mel)[None],
                                   torch.from_numpy(voice.embedding)[None], finalize=True)
        return inp.mu[0].numpy().copy()

    # ---- HiFT -----------------------------------------------------------------------------------
    def nsf_harmonics(self, f0: torch.Tensor) -> torch.Tensor:
        """f0 [1, Tf] -> the excitation per harmonic before the learned merge, [1, 480 Tf, 9],
        with this pipeline's source noise (what the engine feeds to the generator graph)."""
        return self.hift.harmonics(f0, self.hift_noise.get(f0.shape[1] * self.hift.cfg.samples_per_frame))

    def vocode(self, mel: torch.Tensor, finalize: bool, trace: Optional[Dict[str, Any]] = None,
               keep_harmonics: bool = False) -> torch.Tensor:
        """HiFT on mel [1, 80, T] -> waveform [1, 480 T] (finalize) or [1, 480 (T - 8)].
        ``trace`` receives f0 [T'] and, with ``keep_harmonics``, harmonics [480 T', 9] and the
        generator's real/imag spectra."""
        h = self.hift
        pieces: Dict[str, torch.Tensor] = {}
        noise = self.hift_noise.get(mel.shape[2] * h.cfg.samples_per_frame)
        wav = h.inference(mel, noise, finalize, trace=pieces)
        if trace is not None:
            trace["f0"] = pieces["f0"][0].numpy().copy()
            # the largest spectrum magnitude (after the clip at 100): the scale of the waveform's bound
            trace["magnitude_peak"] = float(torch.clamp(pieces["magnitude"], max=1e2).max())
            if keep_harmonics:
                m = torch.clamp(pieces["magnitude"], max=1e2)
                ph = pieces["phase"]
                trace["harmonics"] = pieces["harmonics"][0].numpy().copy()
                trace["real"] = (m * torch.cos(ph))[0].numpy().copy()
                trace["imag"] = (m * torch.sin(ph))[0].numpy().copy()
        return wav

    # ---- synthesis ------------------------------------------------------------------------------
    def synthesize(self, mode: str, text: Optional[str], voice: Voice, instruct: Optional[str] = None,
                   source_wav: Optional[PathLike] = None, seed: int = 0, speed: float = 1.0,
                   n_timesteps: int = 10, cfg_rate: float = 0.7, stream: bool = False,
                   trace: Optional[Dict[str, Any]] = None, min_tokens: Optional[int] = None,
                   max_tokens: Optional[int] = None, keep_harmonics: bool = False,
                   timings: Optional[Dict[str, float]] = None, stream_mode: str = "recompute",
                   stream_schedule: str = "upstream", stream_cache: str = "fp32"):
        """Synthesize ``text`` (or convert ``source_wav`` in ``vc`` mode) in ``voice``.

        Returns the waveform (float32 numpy [N], 24 kHz, in [-0.99, 0.99]); with ``stream=True``
        returns ``(waveform, chunks)`` where ``chunks`` is the list of emitted pieces (their
        concatenation is the waveform).  ``min_tokens``/``max_tokens``: floor and cap on the LLM
        length limits of every segment (:meth:`length_limits`).  ``keep_harmonics`` also traces the NSF harmonics and the generator
        spectra of the first segment.  ``timings`` accumulates per-stage seconds.  ``stream_mode``:
        ``recompute`` (upstream's loop), ``exact`` or ``fast`` (incremental, streaming.py);
        ``stream_schedule``: ``upstream`` (hops 25 + pad, 50, 100, ...) or ``chunk`` (fast only:
        one 25-token attention chunk per emission after the first)."""
        if mode not in MODES:
            raise ReferenceError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
        if not (speed > 0 and math.isfinite(speed)):
            raise ReferenceError(f"speed must be a positive number, got {speed}")
        from . import streaming
        if stream_mode not in streaming.MODES:
            raise ReferenceError(f"unknown stream mode {stream_mode!r}; expected one of {', '.join(streaming.MODES)}")
        if stream_schedule not in streaming.SCHEDULES:
            raise ReferenceError(f"unknown stream schedule {stream_schedule!r}; expected one of "
                                 f"{', '.join(streaming.SCHEDULES)}")
        if stream_schedule != "upstream" and stream_mode != "fast":
            raise ReferenceError(f"stream schedule {stream_schedule!r} needs stream mode 'fast' (the final chunk "
                                 f"boundary of 'exact' and 'recompute' is upstream's)")
        if stream and speed != 1.0:
            self.log(f"warning: speed {speed} is ignored when streaming (as upstream does)")
            speed = 1.0
        tm = timings if timings is not None else {}
        segs_trace: List[Dict[str, Any]] = []
        chunks_trace: List[Dict[str, Any]] = []
        chunks: List[np.ndarray] = []
        pieces: List[np.ndarray] = []
        if mode == "vc":
            if source_wav is None:
                raise ReferenceError("vc needs a source recording (--source-wav)")
            t0 = time.perf_counter()
            whisper, src = self.source_tokens(source_wav)
            tm["frontend_source"] = tm.get("frontend_source", 0.0) + time.perf_counter() - t0
            if src.shape[0] == 0:
                raise ReferenceError(f"{source_wav}: the source audio gives no speech tokens")
            self.log(f"vc: {src.shape[0]} source tokens")
            work = [(None, src.astype(np.int32).tolist(), src.astype(np.int32).tolist(), {"source_whisper": whisper})]
        else:
            plans = self.plan_segments(mode, text, voice, instruct)
            work = []
            for p in plans:
                lo, hi = self.length_limits(p, min_tokens, max_tokens)
                lm_in = self.lm_input(p, voice)
                sd = segment_seed(seed, p.index)
                t0 = time.perf_counter()
                toks, logits, stop = self.generate(lm_in, lo, hi, sd, record_logits=trace is not None, timings=tm)
                flow_toks = sampling.SilentTokenFilter(sampling.MAX_SILENT_RUN).filter(toks)
                self.log(f"segment {p.index}: {len(p.text_ids)} text tokens, limits [{lo}, {hi}], seed {sd}: "
                         f"{len(toks)} speech tokens ({len(toks) - len(flow_toks)} silent dropped) "
                         f"in {time.perf_counter() - t0:.2f} s")
                extra = {"plan": p, "min_len": lo, "max_len": hi, "seed": sd, "stop_token": stop,
                         "lm_input": lm_in[0].numpy().copy() if trace is not None else None, "logits": logits}
                work.append((p, toks, flow_toks, extra))
        for si, (p, toks, flow_toks, extra) in enumerate(work):
            seg_tr: Dict[str, Any] = dict(extra)
            seg_tr.update(tokens=list(toks), flow_tokens=list(flow_toks))
            if not flow_toks:                     # the engine skips such a segment with a warning
                self.log(f"warning: segment {si} produced no speech tokens; skipped")
                seg_tr["wav"] = np.zeros(0, np.float32)
                segs_trace.append(seg_tr)
                continue
            if trace is not None:
                seg_tr["mu"] = self.flow_mu(flow_toks, voice)
            if stream:
                if stream_mode == "recompute":
                    wav_seg = self._stream_segment(si, flow_toks, voice, n_timesteps, cfg_rate, chunks, chunks_trace,
                                                   tm, trace is not None)
                else:
                    wav_seg = self._stream_segment_incremental(si, flow_toks, voice, n_timesteps, cfg_rate, chunks,
                                                               chunks_trace, tm, trace is not None, stream_mode,
                                                               stream_schedule, stream_cache)
                seg_tr["wav"] = wav_seg
            else:
                t0 = time.perf_counter()
                mel = self.run_flow(flow_toks, voice, False, True, n_timesteps, cfg_rate)
                tm["flow"] = tm.get("flow", 0.0) + time.perf_counter() - t0
                tm["flow_steps"] = tm.get("flow_steps", 0) + n_timesteps
                seg_tr["mel"] = mel[0].numpy().copy()
                if speed != 1.0:
                    mel = F.interpolate(mel, size=int(mel.shape[2] / speed), mode="linear")
                    seg_tr["mel_speed"] = mel[0].numpy().copy()
                t0 = time.perf_counter()
                hift_tr: Dict[str, Any] = {}
                wav = self.vocode(mel, True, hift_tr, keep_harmonics and si == 0)
                tm["hift"] = tm.get("hift", 0.0) + time.perf_counter() - t0
                seg_tr.update(hift_tr)
                seg_tr["wav"] = wav[0].numpy().copy()
            pieces.append(seg_tr["wav"])
            segs_trace.append(seg_tr)
            self.log(f"segment {si}: {len(seg_tr['wav']) / self.cfg.sample_rate:.2f} s of audio")
        full = np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, np.float32)
        if trace is not None:
            trace["segments"] = segs_trace
            trace["chunks"] = chunks_trace
            trace["wav"] = full
        tm["audio_seconds"] = tm.get("audio_seconds", 0.0) + full.shape[0] / self.cfg.sample_rate
        return (full, chunks) if stream else full

    def _stream_segment(self, si: int, tokens: List[int], voice: Voice, n_timesteps: int, cfg_rate: float,
                        chunks: List[np.ndarray], chunks_trace: List[Dict[str, Any]], tm: Dict[str, float],
                        keep: bool) -> np.ndarray:
        """Spec §8 for one segment: each chunk re-runs the flow over prompt + tokens so far and
        HiFT over all accumulated mel, emitting only new samples."""
        la = self.flow.cfg.pre_lookahead_len
        ratio = self.flow.cfg.token_mel_ratio
        sched = stream_schedule(len(tokens), voice.K, la)
        acc = torch.zeros(1, self.cfg.flow.output_size, 0)
        emitted = 0
        out = []
        for c in sched:
            final = c["final"]
            t0 = time.perf_counter()
            mel = self.run_flow(tokens[:c["token_end"]], voice, streaming=not final, finalize=final,
                                n_timesteps=n_timesteps, cfg_rate=cfg_rate)[:, :, ratio * c["offset"]:]
            tm["flow"] = tm.get("flow", 0.0) + time.perf_counter() - t0
            tm["flow_steps"] = tm.get("flow_steps", 0) + n_timesteps
            acc = torch.cat([acc, mel], dim=2)
            t0 = time.perf_counter()
            voc_tr: Dict[str, Any] = {}
            wav = self.vocode(acc, finalize=final, trace=voc_tr)[0]
            tm["hift"] = tm.get("hift", 0.0) + time.perf_counter() - t0
            new = wav[emitted:].numpy().copy()
            entry = dict(c, segment=si, index=len(chunks), attention="full" if final else "chunk",
                         mel_frames=int(mel.shape[2]), acc_mel_frames=int(acc.shape[2]),
                         sample_start=emitted, samples=int(new.shape[0]), magnitude_peak=voc_tr["magnitude_peak"])
            emitted += new.shape[0]
            chunks.append(new)
            out.append(new)
            if keep:
                entry["mel"] = mel[0].numpy().copy()
                entry["wav"] = new
            chunks_trace.append(entry)
            self.log(f"segment {si} chunk {entry['index']}: tokens [:{c['token_end']}] "
                     f"{'final' if final else 'streaming'}, {new.shape[0]} samples")
        return np.concatenate(out).astype(np.float32)

    def _stream_segment_incremental(self, si: int, tokens: List[int], voice: Voice, n_timesteps: int, cfg_rate: float,
                                    chunks: List[np.ndarray], chunks_trace: List[Dict[str, Any]], tm: Dict[str, float],
                                    keep: bool, mode: str, schedule: str, cache: str = "fp32") -> np.ndarray:
        """The same segment through the incremental schedule (streaming.py, docs/streaming.md):
        ``exact`` gives the chunks of :meth:`_stream_segment` within float32 parity, ``fast`` runs
        the final chunk chunk-causally too and encodes the prompt on its own (docs/streaming.md
        §8.5).  ``cache``: "fp32", or "fp16" keys/values (the engine's ModelConfig::stream_cache)."""
        if cache not in ("fp32", "fp16"):
            raise ReferenceError(f"unknown stream cache precision {cache!r}; expected fp32 or fp16")
        from . import streaming
        t0 = time.perf_counter()
        emitted = sum(c.shape[0] for c in chunks)
        seg_start = emitted
        records: List[Dict[str, Any]] = []
        out = streaming.stream_segment(self.flow, self.hift, self.flow_noise, self.hift_noise.get, tokens,
                                       voice.speech_tokens, voice.prompt_mel, voice.embedding, mode=mode,
                                       schedule=schedule, n_timesteps=n_timesteps, cfg_rate=cfg_rate,
                                       on_chunk=records.append,
                                       kv_dtype=torch.float16 if cache == "fp16" else torch.float32)
        tm["flow"] = tm.get("flow", 0.0) + time.perf_counter() - t0     # flow and HiFT interleaved
        acc = 0
        for rec, new in zip(records, out):
            acc += rec["mel_frames"]
            entry = {k: rec[k] for k in ("offset", "hop", "token_end", "final")}
            entry.update(segment=si, index=len(chunks), attention=rec["attention"], mel_frames=rec["mel_frames"],
                         acc_mel_frames=acc, sample_start=emitted - seg_start, samples=int(new.shape[0]),
                         magnitude_peak=rec["magnitude_peak"])
            emitted += new.shape[0]
            chunks.append(new)
            if keep:
                entry["mel"] = rec["mel"]
                entry["wav"] = new
            chunks_trace.append(entry)
            self.log(f"segment {si} chunk {entry['index']}: tokens [:{entry['token_end']}] {mode} "
                     f"{'final' if entry['final'] else 'streaming'}, {new.shape[0]} samples")
        return np.concatenate(out).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# command
# ---------------------------------------------------------------------------------------------

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, type=Path, help="released (or tiny) model directory")
    p.add_argument("--bundle", type=Path, help="exported bundle: use its flow noise, tokenizer and HiFT noise "
                                               "parameters (asserted identical to the checkpoint's)")
    p.add_argument("--mode", required=True, choices=MODES)
    p.add_argument("--text", help="text to speak (zero_shot, cross_lingual, instruct2)")
    p.add_argument("--prompt-wav", required=True, type=Path, help="prompt recording (the voice)")
    p.add_argument("--prompt-text", default="", help="transcript of the prompt (zero_shot)")
    p.add_argument("--instruct", help="instruction (instruct2)")
    p.add_argument("--source-wav", type=Path, help="recording to convert (vc)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed; segment s uses seed + s (default 0)")
    p.add_argument("--speed", type=float, default=1.0, help="speed factor (offline only; default 1)")
    p.add_argument("--stream", action="store_true", help="streaming schedule (spec §8)")
    p.add_argument("--stream-mode", default="recompute", choices=("recompute", "exact", "fast"),
                   help="streaming: upstream's recompute loop, or the incremental schedule (docs/streaming.md)")
    p.add_argument("--stream-schedule", default="upstream", choices=("upstream", "chunk"),
                   help="streaming hops: upstream's doubling, or one attention chunk per emission (fast only)")
    p.add_argument("--n-timesteps", type=int, default=10, help="flow Euler steps (default 10)")
    p.add_argument("--cfg-rate", type=float, default=0.7, help="classifier-free guidance (default 0.7)")
    p.add_argument("--min-tokens", type=int, help="floor on speech tokens per segment (raises min_len)")
    p.add_argument("--max-tokens", type=int, help="cap on speech tokens per segment (lowers max_len)")
    p.add_argument("--threads", type=int, default=0, help="torch/ORT threads (0: leave torch's default)")
    p.add_argument("-o", "--out", required=True, type=Path, help="output WAV (24 kHz, 16-bit)")


def main(args: argparse.Namespace) -> int:
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    try:
        with ReferencePipeline(args.checkpoint, args.bundle, threads=max(args.threads, 1)) as ref:
            voice = ref.prepare_voice(args.prompt_wav, args.prompt_text)
            t0 = time.time()
            res = ref.synthesize(args.mode, args.text, voice, instruct=args.instruct, source_wav=args.source_wav,
                                 seed=args.seed, speed=args.speed, n_timesteps=args.n_timesteps,
                                 cfg_rate=args.cfg_rate, stream=args.stream, min_tokens=args.min_tokens,
                                 stream_mode=args.stream_mode, stream_schedule=args.stream_schedule,
                                 max_tokens=args.max_tokens)
            wav, chunks = res if args.stream else (res, None)
            elapsed = time.time() - t0
    except (ReferenceError, faudio.AudioError, checkpoint.CheckpointError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_wav(args.out, wav, ref.cfg.sample_rate)
    secs = wav.shape[0] / ref.cfg.sample_rate
    extra = f", {len(chunks)} chunks" if chunks is not None else ""
    _stderr_log(f"wrote {args.out}: {secs:.2f} s{extra} in {elapsed:.1f} s (RTF {elapsed / max(secs, 1e-9):.2f})")
    return 0
