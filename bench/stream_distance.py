#!/usr/bin/env python3
"""`fast` vs `exact` streaming on a model checkpoint, with the PyTorch reference (docs/streaming.md).

    PYTHONPATH=python LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp \
        /usr/bin/python3 bench/stream_distance.py CHECKPOINT [--tokens 125] [--threads 2] [--json OUT]

Streams one segment of random speech tokens (a random-weight LLM has no natural text; the flow and
vocoder see what they would see) with the Front_Center prompt in three ways and prints the
distances of the mel and the waveform: `fast` (the prompt on its own, final chunk with chunk
attention) and `fast` with float16 keys/values, each against `exact` (= upstream's recompute
streaming), for the non-final chunks, the final chunk and the whole waveform; and for scale
upstream's offline synthesis (full attention) against `exact`.  Also the DiT work (frame-steps) of the
recompute, exact and fast schedules and the cache size.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from cosyvoice_export import reference as R, streaming as S


def dist(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = a - b
    rms_ref = float(np.sqrt(np.mean(b ** 2))) if b.size else 0.0
    rms = float(np.sqrt(np.mean(d ** 2))) if d.size else 0.0
    snr = 20 * np.log10(rms_ref / rms) if rms > 0 else float("inf")
    return {"max_abs": float(np.abs(d).max()) if d.size else 0.0, "rms": rms, "ref_rms": rms_ref, "snr_db": snr}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--tokens", type=int, default=125)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    ref = R.ReferencePipeline(a.checkpoint, components=("flow", "hift"), log=lambda s: print(s, file=sys.stderr))
    voice = ref.prepare_voice("/usr/share/sounds/alsa/Front_Center.wav", "Front center.")
    toks = np.random.default_rng(a.seed).integers(0, 6561, a.tokens).tolist()
    res = {"tokens": a.tokens, "prompt_tokens": voice.K, "torch_threads": a.threads}
    runs = {}
    for name, mode, kv in (("exact", "exact", torch.float32), ("fast", "fast", torch.float32),
                           ("fast_kv16", "fast", torch.float16)):
        recs = []
        work = S.StreamWork()
        t0 = time.perf_counter()
        pt = torch.from_numpy(voice.speech_tokens)[None]
        pf = torch.from_numpy(voice.prompt_mel)[None]
        emb = torch.from_numpy(voice.embedding)[None]
        pflow = S.build_prompt_flow(ref.flow, ref.flow_noise, pt, pf, emb, kv_dtype=kv, whole_prompt=mode == "fast")
        S.stream_segment(ref.flow, ref.hift, ref.flow_noise, ref.hift_noise.get, toks, voice.speech_tokens,
                         voice.prompt_mel, voice.embedding, mode=mode, prompt_flow=pflow, work=work,
                         on_chunk=recs.append)
        runs[name] = recs
        res[name] = {"seconds": time.perf_counter() - t0, "dit_frame_steps": work.dit_frames,
                     "vocoder_frames": work.vocoder_frames, "cache_bytes": work.cache_bytes,
                     "chunks": [r["samples"] for r in recs]}
        print(name, res[name], file=sys.stderr)
    ex, fa, f16 = runs["exact"], runs["fast"], runs["fast_kv16"]
    res["fast_vs_exact"] = {
        "final_chunk_mel": dist(fa[-1]["mel"], ex[-1]["mel"]),
        "final_chunk_wav": dist(fa[-1]["wav"], ex[-1]["wav"]),
        "whole_wav": dist(np.concatenate([r["wav"] for r in fa]), np.concatenate([r["wav"] for r in ex])),
        "nonfinal_mel": dist(np.concatenate([r["mel"] for r in fa[:-1]], 1), np.concatenate([r["mel"] for r in ex[:-1]], 1)),
        "nonfinal_wav": dist(np.concatenate([r["wav"] for r in fa[:-1]]), np.concatenate([r["wav"] for r in ex[:-1]])),
        "final_chunk_frames": int(ex[-1]["mel"].shape[1]),
    }
    # for scale: upstream's own two outputs, offline (full attention everywhere) against streamed
    with torch.no_grad():
        mel = ref.run_flow(toks, voice, streaming=False, finalize=True, n_timesteps=10, cfg_rate=0.7)
        offline_wav = ref.vocode(mel, True, {})[0].numpy()
    exact_mel = np.concatenate([r["mel"] for r in ex], 1)
    res["offline_vs_exact"] = {
        "mel": dist(mel[0].numpy(), exact_mel),
        "wav": dist(offline_wav, np.concatenate([r["wav"] for r in ex])),
    }
    res["fast_kv16_vs_fast"] = {
        "mel": dist(np.concatenate([r["mel"] for r in f16], 1), np.concatenate([r["mel"] for r in fa], 1)),
        "wav": dist(np.concatenate([r["wav"] for r in f16]), np.concatenate([r["wav"] for r in fa])),
    }
    n, k = a.tokens, voice.K
    plan = R.stream_schedule(n, k)
    res["recompute_dit_frame_steps"] = 10 * sum(2 * (k + (c["token_end"] if not c["final"] else n)
                                                     - (0 if c["final"] else 3)) for c in plan)
    res["offline_dit_frame_steps"] = 10 * 2 * (k + n)
    res["kv_bytes_per_frame_fp32"] = S.kv_bytes_per_frame(ref.flow.cfg.dit)
    print(json.dumps(res, indent=1))
    if a.json:
        a.json.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
