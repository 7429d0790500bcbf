"""Write a model bundle (docs/bundle.md) from a released (or ``tiny``) CosyVoice3 checkpoint.

:func:`export_bundle` does everything in a temporary directory beside the output and renames it
into place only when every file is written and every graph passed its parity check, so a failed
or interrupted export never leaves a half-written bundle behind.

Order: check the checkpoint's files; tokenizer and frontend files; flow noise; LLM (tables,
graph, parity); flow (encoder, estimator, parity); HiFT (F0, generator, parity); checksums;
``config.json`` last.  One model component is in memory at a time.
"""

from __future__ import annotations

import datetime
import gc
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import onnx
import torch

from .. import __version__, checkpoint, hparams, noise, sampling
from .. import fp32_bounds as FB
from ..frontend.tokenizer import CosyVoice3Tokenizer
from ..ort import OrtGraph
from . import flow_graphs as FG
from . import hift_builder as HB
from . import hift_graphs as HG
from . import llm_graph as LG
from . import stream_graphs as SG
from . import onnx_io, variants
from .onnx_io import ExportError
from .parity import GraphCheck, Tolerance
from ..quant import winograd as W  # the generator's spectrum bound (torch-free, shared with the variant check)

# ---- constants of upstream code that the yaml does not carry (spec §4, §8) --------------------
SYSTEM_PROMPT = "You are a helpful assistant."
SPEECH_TOKENIZER = {"sample_rate": 16000, "n_mels": 128, "n_fft": 400, "hop_length": 160,
                    "max_seconds": 30.0, "token_rate": 25}
CAMPPLUS = {"sample_rate": 16000, "num_mel_bins": 80}
STREAMING = {"token_max_hop_len": 100, "stream_scale_factor": 2}

# ---- parity tolerances (docs/bundle.md §3.7), derived from the float32 error model --------------
# (fp32_bounds.py): ORT and PyTorch are two float32 evaluations of one chain, so each output may
# differ by pair(depth) relative to its largest magnitude, with the depth of the module's chain.
# Functions of the module, so they scale with the model (the full-size chains are ~100x deeper).


def tol_llm(lm) -> Dict[str, Tolerance]:
    """Logits and caches: every weight layer and attention over the longest case (prefill 37 + 1)."""
    positions = max(p + s for _, s, p in LLM_CASES) + 1
    t = Tolerance("rel", FB.pair(FB.llm_depth(lm, positions)))
    return {"logits": t, "*": t}


def tol_encoder(flow) -> Dict[str, Tolerance]:
    """mu: the pre-lookahead convolutions plus the residual add (the embedding gather is exact);
    spks: L2 normalisation (norm, sqrt, divide) then the affine layer."""
    spk = flow.cfg.spk_embed_dim
    return {"mu": Tolerance("rel", FB.pair(FB.weight_depth(flow.pre_lookahead_layer) + 1)),
            "spks": Tolerance("rel", FB.pair(FB.chain(spk, 1, spk, 1, transcendental=1)))}


def tol_estimator(flow) -> Dict[str, Tolerance]:
    return {"velocity": Tolerance("rel", FB.pair(FB.dit_depth(flow.decoder.estimator, max(ESTIMATOR_FRAMES))))}


def tol_f0(hift) -> Dict[str, Tolerance]:
    """Float64 inside on both sides, float32 only at the output: one float32 rounding on each side."""
    depth = FB.weight_depth(hift.f0_predictor)
    return {"f0": Tolerance("rel", 2 * FB.U + 2 * FB.gamma(depth, FB.U64))}


def tol_generator(hift) -> Dict[str, Tolerance]:
    """exp(x) and sin(x) of the conv chain's output x: an absolute error e in x is a relative error e
    of the magnitude (clipped at 100) and an absolute one of the phase; x (up to ln 100 where it
    matters) carries pair(depth) of its scale. The chain: generator layers (no F0 predictor), the
    source STFT (n_fft taps), exp and sin, cos and sin of the spectrum."""
    depth = _generator_depth(hift)
    return W.spectrum_tolerance(depth, depth)


def _generator_depth(hift) -> float:
    return (FB.weight_depth(hift) - FB.weight_depth(hift.f0_predictor) + hift.cfg.istft_n_fft
            + FB.chain(transcendental=4))


def tol_generator_winograd(hift) -> Dict[str, Tolerance]:
    """:func:`tol_generator` for the vocoder variant ``hift/fp32-winograd`` against the reference: two
    float32 evaluations of different depths, gamma(reference) + gamma(variant), the variant's counted on
    the generator graph this exporter writes, rewritten as the variant is (quant/winograd.py: each
    WinogradConv1d counts ``fp32_bounds.winograd_conv_depth``, its transforms and their growth)."""
    model = HB.build_generator(hift)
    W.rewrite_generator(model)
    return W.spectrum_tolerance(_generator_depth(hift), W.graph_depth(model))


# parity cases (docs/bundle.md §3.7)
LLM_CASES = [("prefill", 1, 0), ("prefill", 7, 0), ("prefill", 37, 0), ("decode", 1, 1), ("decode", 1, 37),
             ("chunk", 5, 10)]
ENCODER_LENGTHS = (1, 4, 60)
ESTIMATOR_FRAMES = (4, 57, 300)
ESTIMATOR_BATCHES = (1, 2)
F0_FRAMES = (1, 10, 300)
GENERATOR_FRAMES = (1, 10, 100)

CHECKPOINT_FILES = ("cosyvoice3.yaml", "llm.pt", "flow.pt", "hift.pt", "campplus.onnx", "speech_tokenizer_v3.onnx",
                    "CosyVoice-BlankEN/config.json", "CosyVoice-BlankEN/tokenizer_config.json",
                    "CosyVoice-BlankEN/vocab.json", "CosyVoice-BlankEN/merges.txt")

# docs/bundle.md §3.6, by position (upstream feeds these graphs positionally and the names are
# only known from third-party reads of the release): (usual name, accepted element types, rank).
FRONTEND_SIGNATURES = {
    "speech_tokenizer_v3.onnx": ([("feats", (onnx.TensorProto.FLOAT,), 3),
                                  ("feats_length", (onnx.TensorProto.INT32,), 1)],
                                 [("indices", (onnx.TensorProto.INT32, onnx.TensorProto.INT64), 2)]),
    "campplus.onnx": ([("input", (onnx.TensorProto.FLOAT,), 3)], [("output", (onnx.TensorProto.FLOAT,), 2)]),
}


@dataclass
class _Ctx:
    ckpt: Path
    tmp: Path
    cfg: hparams.CosyVoice3Config
    threads: int
    log: Callable[[str], None]
    ort_report: bool
    streaming_graph: bool = True
    t0: float = field(default_factory=time.time)
    checks: Dict[str, dict] = field(default_factory=dict)
    fusions: Dict[str, dict] = field(default_factory=dict)
    gen: torch.Generator = field(default_factory=lambda: torch.Generator().manual_seed(20251123))
    llm_variants: Optional[object] = None            # llm_variants.LlmVariantOptions, or None
    graph_variants: List[tuple] = field(default_factory=list)   # [(family, name)] of cosyvoice_export.quant
    variants: Dict[str, List[dict]] = field(default_factory=dict)

    def step(self, msg: str) -> None:
        self.log(f"[{time.time() - self.t0:7.1f}s] {msg}")

    def path(self, rel: str) -> Path:
        p = self.tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def export(self, module, args, rel: str, role: str, io) -> Path:
        ins, outs, shapes = io
        self.step(f"exporting {rel}")
        p = onnx_io.export_graph(module, args, self.path(rel), role, ins, outs, shapes, producer_version=__version__)
        self.step(f"wrote {rel} ({p.stat().st_size / 1e6:.1f} MB)")
        if self.ort_report:
            before = onnx_io.op_counts(p)
            after = onnx_io.ort_optimized_op_counts(p, self.tmp)
            self.fusions[rel] = {"before": before, "after": after}
            self.log(f"    ORT CPU fusions for {rel}: {sum(before.values())} -> {sum(after.values())} nodes; "
                     f"after: {after}")
        return p

    def write(self, model: onnx.ModelProto, rel: str, role: str, io) -> Path:
        """Saves a graph written node by node (not traced) and post-processes it like export()."""
        _, _, shapes = io
        self.step(f"writing {rel}")
        p = self.path(rel)
        onnx.save(model, str(p))
        onnx_io.postprocess(p, role, __version__, shapes)
        self.step(f"wrote {rel} ({p.stat().st_size / 1e6:.1f} MB)")
        if self.ort_report:
            before = onnx_io.op_counts(p)
            after = onnx_io.ort_optimized_op_counts(p, self.tmp)
            self.fusions[rel] = {"before": before, "after": after}
        return p

    def session(self, rel: str) -> OrtGraph:
        return OrtGraph(self.tmp / rel, threads=self.threads)


# ------------------------------------------------------------------------------------- helpers

def sha256_file(path: Path, chunk: int = 8 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def _file_entry(path: Path) -> dict:
    return {"bytes": path.stat().st_size, "sha256": sha256_file(path)}


def _save_npy(path: Path, t: torch.Tensor) -> None:
    """float32 C-order .npy straight from the tensor's memory (np.save writes a contiguous array
    with tofile, without an intermediate copy)."""
    a = t.detach()
    if a.dtype != torch.float32 or not a.is_contiguous():
        a = a.to(torch.float32).contiguous()
    np.save(str(path), a.numpy(), allow_pickle=False)


def check_checkpoint_dir(ckpt: Path) -> None:
    if not ckpt.is_dir():
        raise ExportError(f"{ckpt}: not a directory (expected a CosyVoice3 model directory such as "
                          f"Fun-CosyVoice3-0.5B-2512)")
    missing = [f for f in CHECKPOINT_FILES if not (ckpt / f).is_file()]
    if missing:
        raise ExportError(f"{ckpt}: missing file(s) of the released layout: {', '.join(missing)}")


def _check_frontend_graph(path: Path, name: str) -> None:
    """Checks the release's frontend graph by position: tensor counts, element types and ranks.
    Different names are accepted (the engine binds by position) and reported."""
    want_in, want_out = FRONTEND_SIGNATURES[name]
    ins, outs = onnx_io.graph_io(path)
    for kind, want, got in (("input", want_in, ins), ("output", want_out, outs)):
        if len(got) != len(want):
            raise ExportError(f"{path}: has {len(got)} {kind}s {[n for n, _, _ in got]}, docs/bundle.md §3.6 "
                              f"expects {len(want)}: {[n for n, _, _ in want]}")
        for i, ((w_name, w_types, w_rank), (g_name, g_type, g_dims)) in enumerate(zip(want, got)):
            if g_type not in w_types or len(g_dims) != w_rank:
                raise ExportError(
                    f"{path}: {kind} {i} ({g_name}) has element type {onnx.TensorProto.DataType.Name(g_type)} "
                    f"and rank {len(g_dims)}, expected "
                    f"{' or '.join(onnx.TensorProto.DataType.Name(t) for t in w_types)} rank {w_rank} "
                    f"(docs/bundle.md §3.6)")
            if g_name != w_name:
                print(f"note: {path.name} {kind} {i} is named '{g_name}' (usually '{w_name}'); "
                      f"the engine binds it by position")


def added_tokens(blank_dir: Path) -> Tuple[List[dict], int]:
    """BlankEN's added tokens plus CosyVoice3's special tokens, with their ids (frontend/tokenizer.py)."""
    tok = CosyVoice3Tokenizer(str(blank_dir))
    return [{"id": t.id, "content": t.content, "special": bool(t.special)}
            for t in sorted(tok.added.values(), key=lambda t: t.id)], tok.endofprompt_id


# ------------------------------------------------------------------------------------- stages

def _write_tokenizer(ctx: _Ctx) -> int:
    blank = ctx.ckpt / "CosyVoice-BlankEN"
    for f in ("vocab.json", "merges.txt"):
        shutil.copyfile(blank / f, ctx.path(f"tokenizer/{f}"))
    tokens, eop = added_tokens(blank)
    with open(ctx.path("tokenizer/added_tokens.json"), "w", encoding="utf-8") as f:
        json.dump(tokens, f, ensure_ascii=False, indent=1)
        f.write("\n")
    ctx.step(f"wrote tokenizer/ ({len(tokens)} added tokens, <|endofprompt|> = {eop})")
    return eop


def _write_frontend(ctx: _Ctx) -> None:
    for name in ("campplus.onnx", "speech_tokenizer_v3.onnx"):
        src = ctx.ckpt / name
        _check_frontend_graph(src, name)
        shutil.copyfile(src, ctx.path(f"frontend/{name}"))
    ctx.step("copied frontend/campplus.onnx and frontend/speech_tokenizer_v3.onnx")


def _write_flow_noise(ctx: _Ctx) -> None:
    z = noise.flow_noise()
    frames = ctx.cfg.flow.cfm.noise_frames
    if tuple(z.shape) != (1, ctx.cfg.flow.output_size, frames):
        raise ExportError(f"flow noise has shape {list(z.shape)}, the config implies "
                          f"[1, {ctx.cfg.flow.output_size}, {frames}]")
    _save_npy(ctx.path("flow/flow_noise.npy"), z[0])
    ctx.step(f"wrote flow/flow_noise.npy [{z.shape[1]}, {z.shape[2]}]")


def _embeddings(lm, n: int, gen: torch.Generator) -> torch.Tensor:
    """[1, n, H] realistic inputs: rows of the text table, then rows of the speech table."""
    cfg = lm.cfg
    n_text = n // 2
    t = torch.randint(0, cfg.qwen.vocab_size, (n_text,), generator=gen)
    s = torch.randint(0, cfg.speech_vocab_rows, (n - n_text,), generator=gen)
    with torch.no_grad():
        return torch.cat([lm.embed_text(t), lm.embed_speech(s)], 0)[None].contiguous()


def _llm_feeds(x: torch.Tensor, past, n_layers: int, kv_shape) -> Dict[str, np.ndarray]:
    feeds = {"inputs_embeds": x.numpy()}
    for i in range(n_layers):
        if past is None:
            k = v = np.zeros((1, 0) + tuple(kv_shape), np.float32)
        else:
            k, v = (np.ascontiguousarray(a) if isinstance(a, np.ndarray) else a.contiguous().numpy() for a in past[i])
        feeds[f"past_key_{i}"], feeds[f"past_value_{i}"] = k, v
    return feeds


def _export_llm(ctx: _Ctx) -> None:
    ctx.step("loading llm.pt")
    lm = checkpoint.load_llm(ctx.ckpt / "llm.pt", ctx.cfg.llm)
    q = lm.cfg.qwen
    _save_npy(ctx.path("llm/text_embedding.npy"), lm.qwen.embed_tokens.weight)
    _save_npy(ctx.path("llm/speech_embedding.npy"), lm.speech_embedding.weight)
    ctx.step(f"wrote llm/text_embedding.npy [{q.vocab_size}, {q.hidden_size}] and "
             f"llm/speech_embedding.npy [{lm.cfg.speech_vocab_rows}, {q.hidden_size}]")
    step = LG.LlmStep(lm)
    ctx.export(step, LG.example_inputs(lm, gen=ctx.gen), "llm/llm.onnx", "llm", LG.io(lm))
    del step
    gc.collect()

    ctx.step("parity llm/llm.onnx vs CosyVoice3LM")
    with ctx.session("llm/llm.onnx") as g:
        ctx.checks["llm/llm.onnx"] = _llm_parity(ctx, lm, g)
    if ctx.llm_variants is not None:
        _export_llm_variants(ctx, lm)
    del lm
    gc.collect()


def _export_llm_variants(ctx: _Ctx, lm) -> None:
    """``--quantize``: the fused fp32 / int8 / int4 LLM graphs (docs/bundle.md §7), checked against
    the PyTorch module in memory."""
    from . import llm_fused, llm_variants

    ctx.step("LLM variants: " + ", ".join(ctx.llm_variants.precisions))
    gen = torch.Generator().manual_seed(20261204)
    entries, checks, _ = llm_variants.make_variants(
        ctx.tmp, llm_fused.weights_from_lm(lm), lm.qwen.embed_tokens.weight.detach().numpy(), ctx.llm_variants,
        llm_variants.torch_reference(lm), lambda n: _embeddings(lm, n, gen).numpy(), ctx.threads, ctx.step)
    ctx.checks.update(checks)
    ctx.variants.setdefault("llm", []).extend(entries)


def _export_graph_variants(ctx: _Ctx) -> None:
    """``--quantize`` flow/hift/fp16 variants: rewrites of the fp32 graphs just written
    (cosyvoice_export.quant, docs/quantization.md); gate status untested, or parity for the float32
    hift/fp32-winograd (checked against the base generator graph)."""
    if not ctx.graph_variants:
        return
    from ..quant import variants as QV

    base = {"llm": {"file": "llm/llm.onnx"}, "flow": {"estimator": "flow/flow_estimator.onnx"},
            "hift": {"generator": "hift/hift_generator.onnx", "hop_length": ctx.cfg.hift.samples_per_frame}}
    if (ctx.tmp / "flow/flow_estimator_chunk.onnx").exists():  # the flow variants rewrite it too
        base["flow"]["estimator_chunk"] = {"file": "flow/flow_estimator_chunk.onnx"}
    for family, name in ctx.graph_variants:
        entry, _ = QV.make_variant(ctx.tmp, base, family, name, log=ctx.step, threads=ctx.threads)
        ctx.variants.setdefault(family, []).append(entry)


def _llm_parity(ctx: _Ctx, lm, g: OrtGraph) -> dict:
    q = lm.cfg.qwen
    chk = GraphCheck("llm/llm.onnx", "float32", tol_llm(lm), ctx.log)
    kv = (q.num_key_value_heads, q.head_dim)
    L = q.num_hidden_layers

    def ref_run(x, past):
        with torch.no_grad():
            h, cache = lm(x, past)
            logits = lm.logits(h[:, -1])
        p = 0 if past is None else past[0][0].shape[1]
        out = {"logits": logits.numpy()}
        for i, (k, v) in enumerate(cache):
            out[f"new_key_{i}"], out[f"new_value_{i}"] = k[:, p:].numpy(), v[:, p:].numpy()
        return out, cache

    for kind, s, p in LLM_CASES:
        x = _embeddings(lm, p + s, ctx.gen)
        past = None
        if p:
            with torch.no_grad():
                _, past = lm(x[:, :p])
        ref, _ = ref_run(x[:, p:], past)
        t0 = time.perf_counter()
        got = g.run(_llm_feeds(x[:, p:].contiguous(), past, L, kv))
        chk.compare(f"{kind} S={s} P={p}", got, ref, time.perf_counter() - t0)
    # ORT's own cache: prefill 36 + decode 1 equals the full 37-position pass
    x = _embeddings(lm, 37, ctx.gen)
    pre = g.run(_llm_feeds(x[:, :36].contiguous(), None, L, kv))
    past = [(pre[f"new_key_{i}"], pre[f"new_value_{i}"]) for i in range(L)]
    got = g.run(_llm_feeds(x[:, 36:].contiguous(), past, L, kv))
    ref, _ = ref_run(x, None)
    chk.compare("prefill 36 + decode 1 = full 37", {"logits": got["logits"]}, {"logits": ref["logits"]})
    return chk.finish()


def _mel_like(shape, gen) -> torch.Tensor:
    """Log-mel-like values (upstream's mels are log(clamp(x, 1e-5)): about -11.5 .. 2)."""
    return torch.clamp(torch.randn(*shape, generator=gen) * 2.0 - 5.0, -11.5, 2.0)


def _export_flow(ctx: _Ctx) -> None:
    ctx.step("loading flow.pt")
    flow = checkpoint.load_flow(ctx.ckpt / "flow.pt", ctx.cfg.flow)
    ctx.export(FG.FlowEncoder(flow), FG.encoder_example(flow, gen=ctx.gen), "flow/flow_encoder.onnx",
               "flow_encoder", FG.encoder_io(flow))
    ctx.export(FG.FlowEstimator(flow.decoder.estimator), FG.estimator_example(flow, gen=ctx.gen),
               "flow/flow_estimator.onnx", "flow_estimator", FG.estimator_io(flow))
    gc.collect()

    ctx.step("parity flow/flow_encoder.onnx vs CausalMaskedDiffWithDiT.encode_tokens/embed_speaker")
    with ctx.session("flow/flow_encoder.onnx") as g:
        ctx.checks["flow/flow_encoder.onnx"] = _encoder_parity(ctx, flow, g)
    ctx.step("parity flow/flow_estimator.onnx vs DiT.forward_chunked")
    with ctx.session("flow/flow_estimator.onnx") as g:
        ctx.checks["flow/flow_estimator.onnx"] = _estimator_parity(ctx, flow, g)
    if ctx.streaming_graph:
        rel = "flow/flow_estimator_chunk.onnx"
        ctx.export(SG.FlowEstimatorChunk(flow.decoder.estimator), SG.chunk_example(flow, gen=ctx.gen), rel,
                   "flow_estimator_chunk", SG.chunk_io(flow))
        ctx.step(f"parity {rel} vs streaming.dit_incremental")
        with ctx.session(rel) as g:
            ctx.checks[rel] = SG.chunk_parity(flow, g, ctx.gen, ctx.log)
    del flow
    gc.collect()


def _encoder_parity(ctx: _Ctx, flow, g: OrtGraph) -> dict:
    fc = flow.cfg
    chk = GraphCheck("flow/flow_encoder.onnx", "float32", tol_encoder(flow), ctx.log)
    la, r = fc.pre_lookahead_len, fc.token_mel_ratio
    for n in ENCODER_LENGTHS:
        tok, emb = FG.encoder_example(flow, n, gen=ctx.gen)
        t0 = time.perf_counter()
        got = g.run({"token": tok.numpy(), "embedding": emb.numpy()})
        dt = time.perf_counter() - t0
        with torch.no_grad():
            ref = {"mu": flow.encode_tokens(tok, finalize=True).numpy(), "spks": flow.embed_speaker(emb).numpy()}
        chk.compare(f"L={n}", got, ref, dt)
        if n > la:   # the engine's streaming use: the first r(L - 3) frames are upstream's finalize=False output
            with torch.no_grad():
                part = flow.encode_tokens(tok, finalize=False).numpy()
            chk.compare(f"L={n} non-final prefix", {"mu": got["mu"][:, :, :r * (n - la)]}, {"mu": part})
    return chk.finish()


def _estimator_parity(ctx: _Ctx, flow, g: OrtGraph) -> dict:
    fc = flow.cfg
    r = fc.token_mel_ratio
    chk = GraphCheck("flow/flow_estimator.onnx", "float32", tol_estimator(flow), ctx.log)
    est = flow.decoder.estimator
    c = fc.output_size
    for t_len in ESTIMATOR_FRAMES:
        # realistic conditioning: mu from the encoder, a prompt mel in the first third of cond
        tok = torch.randint(0, fc.vocab_size, (1, (t_len + r - 1) // r), generator=ctx.gen)
        with torch.no_grad():
            mu1 = flow.encode_tokens(tok)[:, :, :t_len]
            spk1 = flow.embed_speaker(torch.randn(1, fc.spk_embed_dim, generator=ctx.gen))
        cond1 = torch.zeros(1, c, t_len)
        cond1[:, :, :t_len // 3] = _mel_like((1, c, t_len // 3), ctx.gen)
        noise_x = torch.randn(1, c, t_len, generator=ctx.gen)
        for b in ESTIMATOR_BATCHES:
            zero = lambda z: torch.cat([z] + [torch.zeros_like(z)] * (b - 1), 0)  # noqa: E731  CFG slot
            x = noise_x.repeat(b, 1, 1)
            mu, spks, cond = zero(mu1), zero(spk1), zero(cond1)
            t = torch.rand(1, generator=ctx.gen).repeat(b)
            for chunk in sorted({fc.dit.static_chunk_size, t_len}):
                feeds = {"x": x.numpy(), "mu": mu.numpy(), "t": t.numpy(), "spks": spks.numpy(),
                         "cond": cond.numpy(), "attention_chunk": np.array(chunk, dtype=np.int64)}
                t0 = time.perf_counter()
                got = g.run(feeds)
                dt = time.perf_counter() - t0
                with torch.no_grad():
                    ref = est.forward_chunked(x, torch.ones(b, 1, t_len), mu, t, spks, cond, chunk)
                chk.compare(f"T={t_len} B={b} chunk={chunk}", got, {"velocity": ref.numpy()}, dt)
    return chk.finish()


def _export_hift(ctx: _Ctx) -> None:
    ctx.step("loading hift.pt (weight norm folded)")
    hift = checkpoint.load_hift(ctx.ckpt / "hift.pt", ctx.cfg.hift)
    hc = hift.cfg
    mel_ex = _mel_like((1, hc.in_channels, 13), ctx.gen)
    ctx.export(HG.F0Predictor64(hift.f0_predictor), (mel_ex,), "hift/hift_f0.onnx", "hift_f0", HG.f0_io(hift))
    src_noise = noise.hift_source_noise(hc.samples_per_frame * max(GENERATOR_FRAMES + (13,)))
    ctx.write(HB.build_generator(hift), "hift/hift_generator.onnx", "hift_generator", HG.generator_io(hift))

    ctx.step("parity hift/hift_f0.onnx vs CausalConvRNNF0Predictor (float64)")
    with ctx.session("hift/hift_f0.onnx") as g:
        ctx.checks["hift/hift_f0.onnx"] = _f0_parity(ctx, hift, g)
    ctx.step("parity hift/hift_generator.onnx vs m_source + torch.stft + CausalHiFTGenerator.decode")
    with ctx.session("hift/hift_generator.onnx") as g:
        ctx.checks["hift/hift_generator.onnx"] = _generator_parity(ctx, hift, g, src_noise)
    del hift
    gc.collect()


def _f0_parity(ctx: _Ctx, hift, g: OrtGraph) -> dict:
    hc = hift.cfg
    chk = GraphCheck("hift/hift_f0.onnx", "float64", tol_f0(hift), ctx.log)
    for t_len in F0_FRAMES:
        mel = _mel_like((1, hc.in_channels, t_len), ctx.gen)
        t0 = time.perf_counter()
        got = g.run({"mel": mel.numpy()})
        dt = time.perf_counter() - t0
        with torch.no_grad():
            ref = hift.f0(mel, finalize=True).numpy()
        chk.compare(f"T={t_len}", got, {"f0": ref}, dt)
    return chk.finish()


def _generator_parity(ctx: _Ctx, hift, g: OrtGraph, src_noise: np.ndarray) -> dict:
    hc = hift.cfg
    chk = GraphCheck("hift/hift_generator.onnx", "float32", tol_generator(hift), ctx.log)
    for t_len in GENERATOR_FRAMES:
        mel = _mel_like((1, hc.in_channels, t_len), ctx.gen)
        with torch.no_grad():
            harm = HG.nsf_harmonics(hift.f0(mel), hc, src_noise)
        t0 = time.perf_counter()
        got = g.run({"mel": mel.numpy(), "harmonics": harm.numpy()})
        dt = time.perf_counter() - t0
        re, im = HG.reference_spectrum(hift, mel, harm)
        chk.compare(f"T={t_len}", got, {"real": re.numpy(), "imag": im.numpy()}, dt)
    return chk.finish()


# ------------------------------------------------------------------------------------- config

def build_config(cfg: hparams.CosyVoice3Config, name: str, endofprompt_id: int, files: Dict[str, dict],
                 source_files: Dict[str, dict], checks: Dict[str, dict], hift_noise_skip: int,
                 streaming_graph: bool = False) -> dict:
    from ..streaming import hift_left_context_frames
    llm, q, flow, hift, feat = cfg.llm, cfg.llm.qwen, cfg.flow, cfg.hift, cfg.feat
    fmax = feat.fmax if feat.fmax is not None else feat.sampling_rate / 2.0
    flow_chunk = ({"estimator_chunk": {"file": "flow/flow_estimator_chunk.onnx", "dim": flow.dit.dim,
                                       "depth": flow.dit.depth, "conv_state": flow.dit.conv_pos_kernel - 1}}
                  if streaming_graph else {})
    return {
        "format": "cosyvoice-ort-bundle",
        "format_version": onnx_io.FORMAT_VERSION,
        "model": {"name": name, "source_files": source_files},
        "exporter": {"version": __version__, "torch": torch.__version__, "onnx": onnx.__version__,
                     "opset": onnx_io.OPSET,
                     "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")},
        "sample_rate": cfg.sample_rate,
        "files": files,
        "tokenizer": {"vocab": "tokenizer/vocab.json", "merges": "tokenizer/merges.txt",
                      "added_tokens": "tokenizer/added_tokens.json", "endofprompt_id": endofprompt_id,
                      "system_prompt": SYSTEM_PROMPT},
        "frontend": {
            "speech_tokenizer": {"file": "frontend/speech_tokenizer_v3.onnx", **SPEECH_TOKENIZER},
            "campplus": {"file": "frontend/campplus.onnx", **CAMPPLUS, "embedding_dim": flow.spk_embed_dim},
            "prompt_mel": {"sample_rate": feat.sampling_rate, "n_fft": feat.n_fft, "hop_length": feat.hop_size,
                           "win_length": feat.win_size, "n_mels": feat.num_mels, "fmin": float(feat.fmin),
                           "fmax": float(fmax), "center": bool(feat.center)},
        },
        "llm": {
            "file": "llm/llm.onnx", "text_embedding": "llm/text_embedding.npy",
            "speech_embedding": "llm/speech_embedding.npy",
            "hidden_size": q.hidden_size, "num_layers": q.num_hidden_layers,
            "num_attention_heads": q.num_attention_heads, "num_kv_heads": q.num_key_value_heads,
            "head_dim": q.head_dim, "max_positions": q.max_position_embeddings,
            "rope_theta": float(q.rope_theta), "rms_norm_eps": float(q.rms_norm_eps),
            "text_vocab_size": q.vocab_size, "speech_token_size": llm.speech_token_size,
            "speech_vocab_size": llm.speech_vocab_rows,
            "sos": llm.sos, "eos": llm.eos, "task_id": llm.task_id, "fill": llm.fill_token,
            "stop_tokens": [llm.stop_token_ids.start, llm.stop_token_ids.stop],
            "sampling": {"top_p": float(llm.sampling.top_p), "top_k": llm.sampling.top_k,
                         "win_size": llm.sampling.win_size, "tau_r": float(llm.sampling.tau_r)},
            "min_token_text_ratio": float(llm.min_token_text_ratio),
            "max_token_text_ratio": float(llm.max_token_text_ratio),
            "silent_tokens": list(sampling.SILENT_TOKENS), "max_silent_run": sampling.MAX_SILENT_RUN,
            "mix_ratio": [int(llm.mix_ratio[0]), int(llm.mix_ratio[1])],
        },
        "flow": {
            "encoder": "flow/flow_encoder.onnx", "estimator": "flow/flow_estimator.onnx",
            "noise": "flow/flow_noise.npy",
            "mel_bins": flow.output_size, "token_mel_ratio": flow.token_mel_ratio,
            "pre_lookahead": flow.pre_lookahead_len, "spk_embed_dim": flow.spk_embed_dim,
            "vocab_size": flow.vocab_size, "n_timesteps": flow.cfm.n_timesteps,
            "cfg_rate": float(flow.cfm.inference_cfg_rate), "t_scheduler": flow.cfm.t_scheduler,
            "static_chunk_size": flow.dit.static_chunk_size, "max_frames": flow.cfm.noise_frames,
            **flow_chunk,
        },
        "hift": {
            "f0": "hift/hift_f0.onnx", "generator": "hift/hift_generator.onnx",
            "sample_rate": hift.sampling_rate, "hop_length": hift.samples_per_frame,
            "istft_n_fft": hift.istft_n_fft, "istft_hop": hift.istft_hop_len,
            "nb_harmonics": hift.nb_harmonics, "sine_amp": float(hift.nsf_alpha),
            "noise_std": float(hift.nsf_sigma), "voiced_threshold": float(hift.nsf_voiced_threshold),
            "audio_limit": float(hift.audio_limit), "lookahead_frames": hift.lookahead_frames,
            "left_context_frames": hift_left_context_frames(hift),
            "source_noise": {"generator": "mt19937", "seed": noise.HIFT_NOISE_SEED, "skip": hift_noise_skip},
        },
        "streaming": {"token_hop_len": cfg.chunk_size, **STREAMING},
        "checks": checks,
    }


# ------------------------------------------------------------------------------------- entry

def _remove_stale_partials(out: Path, log: Callable[[str], None]) -> None:
    """Temporary directories left by an export that was killed (its process is gone)."""
    for p in out.parent.glob(f".{out.name}.partial-*"):
        try:
            pid = int(p.name.rsplit("-", 1)[1])
            os.kill(pid, 0)
            continue                      # that export is still running
        except ProcessLookupError:
            pass
        except (ValueError, PermissionError):
            continue
        log(f"removing {p} left by an interrupted export")
        shutil.rmtree(p, ignore_errors=True)


def export_bundle(checkpoint_dir, out, *, threads: int = 2, force: bool = False, name: Optional[str] = None,
                  ort_report: bool = False, log: Callable[[str], None] = print, quantize: Optional[dict] = None,
                  streaming_graph: bool = True) -> dict:
    """Export ``checkpoint_dir`` into the bundle directory ``out``; returns the config written.

    Raises :class:`ExportError` (bad input, output exists), :class:`hparams.ConfigError`,
    :class:`checkpoint.CheckpointError` or :class:`parity.ParityError`; ``out`` is then untouched."""
    ckpt, out = Path(checkpoint_dir), Path(out)
    check_checkpoint_dir(ckpt)
    if out.exists() and not force:
        raise ExportError(f"{out}: already exists (remove it or pass --force)")
    cfg = hparams.load_model_dir(ckpt)
    skip = noise.HIFT_NOISE_SKIP
    derived = cfg.hift_noise_rng_skip
    if derived != skip:
        log(f"note: this config's module construction would consume {derived} RNG draws before HiFT's source "
            f"noise; the bundle records the documented {skip} (docs/determinism.md §7.2), which is what the "
            f"Python reference uses")
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(out, log)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(max(1, threads))
    ctx = _Ctx(ckpt=ckpt, tmp=tmp, cfg=cfg, threads=threads, log=log, ort_report=ort_report,
               llm_variants=(quantize or {}).get("llm"), graph_variants=list((quantize or {}).get("graphs", [])),
               streaming_graph=streaming_graph)
    try:
        ctx.step(f"exporting {ckpt} -> {out} (temporary directory {tmp.name})")
        eop = _write_tokenizer(ctx)
        _write_frontend(ctx)
        _write_flow_noise(ctx)
        _export_llm(ctx)
        _export_flow(ctx)
        _export_hift(ctx)
        _export_graph_variants(ctx)
        ctx.step("checksums")
        files = {}
        for p in sorted(tmp.rglob("*")):
            if p.is_file():
                files[p.relative_to(tmp).as_posix()] = _file_entry(p)
        source = {f: _file_entry(ckpt / f) for f in CHECKPOINT_FILES}
        config = build_config(cfg, name or ckpt.resolve().name, eop, files, source, ctx.checks, skip,
                              streaming_graph)
        for family, entries in ctx.variants.items():
            for entry in entries:
                variants.add(config, family, entry)
        with open(tmp / "config.json", "w", encoding="utf-8") as f:
            json.dump(config, f, ensure_ascii=False, indent=2)
            f.write("\n")
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            os.replace(out, old)
            os.replace(tmp, out)
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink()
        else:
            os.replace(tmp, out)
        total = sum(e["bytes"] for e in files.values())
        ctx.step(f"wrote {out}: {len(files) + 1} files, {total / 1e6:.1f} MB")
        if ctx.fusions:
            config = dict(config)
            config["_ort_fusions"] = ctx.fusions     # returned only, not written
        return config
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        torch.set_num_threads(torch_threads)
