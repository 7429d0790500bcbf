#!/usr/bin/env python3
"""Cases for the cross-language sampler test: the Python reference sampler (docs/determinism.md,
python/cosyvoice_export/sampling.py) decodes each case's logits with its seed, and the C++ unit
test SamplerCrossLanguage replays the same logits and seed through the C++ RasSampler: the token
sequences and stop ids must be equal, exactly.

Why exactly: both sides take the same float32 logits, compute the float64 softmax in the order
docs/determinism.md fixes, with this machine's libm exp (Python's math.exp and C++'s std::exp are
glibc's), and draw from the same xoshiro256** stream. Nothing is left to rounding order or threads.

usage: /usr/bin/python3 tests/tools/make_sampler_cases.py OUT_DIR      (PYTHONPATH=<repo>/python)
Writes OUT_DIR/cases.json and OUT_DIR/<case>_logits.npy (float32 [steps, 6761]). Fails unless the
cases together exercise what the test claims to cover (listed in cases.json "covered").
"""
import json
import math
import os
import sys

import numpy as np

from cosyvoice_export import sampling as S

V = S.SPEECH_VOCAB_SIZE          # 6761: 6561 speech codes + 200 stop ids
STOP = S.SPEECH_TOKEN_SIZE        # 6561


def doc_case():
    """docs/determinism.md §6: integer-derived logits (ties everywhere), seed 20251123, min_len 10."""
    rows = [[float(((j * 7919 + (step % 3) * 104729) % 1000)) / 100.0 for j in range(V)] for step in range(40)]
    return "determinism_doc", np.asarray(rows, np.float32), 20251123, 10


def sticky_case(seed, steps=60, dominant=4, scale=6.0, stop_boost=0.0):
    """A few dominant ids (so tokens repeat and the repetition fallback fires), Gaussian elsewhere,
    optionally boosted stop ids (so a stop is drawn, from the nucleus or from the fallback)."""
    rs = np.random.RandomState(seed)
    rows = rs.randn(steps, V) * 1.5
    ids = rs.choice(STOP, size=dominant, replace=False)
    rows[:, ids] += scale
    rows[:, STOP:] += stop_boost
    return f"sticky_{seed}", rows.astype(np.float32), 1000 + seed, 8


def quantized_case(seed, steps=50):
    """Logits on a coarse grid: many exact ties among the top ids (ties go to the lower id)."""
    rs = np.random.RandomState(seed)
    rows = np.round(rs.randn(steps, V) * 2.0) / 2.0
    rows[:, STOP:] -= 3.0
    return f"ties_{seed}", rows.astype(np.float32), 77 + seed, 5


def masked_case(seed, steps=40):
    """-inf logits (masked ids), large magnitudes, and a flat tail."""
    rs = np.random.RandomState(seed)
    rows = rs.randn(steps, V) * 30.0
    rows[rs.rand(steps, V) < 0.3] = -np.inf
    rows[:, STOP + 5] = 40.0                     # a stop id the min_len guard must hold back
    return f"masked_{seed}", rows.astype(np.float32), 5150 + seed, 12


def decode(logits, seed, min_len):
    sampler = S.RasSampler(seed)
    out, fallbacks, stop, stop_from_fallback = [], 0, None, False
    for i, row in enumerate(logits):
        tr = {}
        tok = sampler.step(row, out, i, min_len, trace=tr)
        fallbacks += bool(tr["fallback"])
        if sampler.is_stop(tok):
            stop, stop_from_fallback = tok, bool(tr["fallback"])
            break
        out.append(tok)
    return out, stop, fallbacks, stop_from_fallback, sampler.rng.draws


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    cases = [doc_case()] + [sticky_case(s) for s in (1, 2, 3)] + [sticky_case(4, stop_boost=3.0)] + \
        [sticky_case(5, dominant=1, scale=9.0, stop_boost=4.0)] + [quantized_case(s) for s in (1, 2)] + \
        [masked_case(1)]
    entries, covered = [], {"fallback": 0, "stop_from_nucleus": 0, "stop_from_fallback": 0, "max_len_reached": 0,
                            "ties_in_logits": 0, "minus_inf_logits": 0}
    for name, logits, seed, min_len in cases:
        tokens, stop, fallbacks, stop_fb, draws = decode(logits, seed, min_len)
        np.save(os.path.join(out_dir, f"{name}_logits.npy"), logits, allow_pickle=False)
        entries.append({"name": name, "seed": seed, "min_len": min_len, "steps": int(logits.shape[0]),
                        "tokens": tokens, "stop": stop, "fallbacks": fallbacks, "draws": draws})
        covered["fallback"] += fallbacks
        covered["stop_from_nucleus"] += stop is not None and not stop_fb
        covered["stop_from_fallback"] += stop is not None and stop_fb
        covered["max_len_reached"] += stop is None
        covered["ties_in_logits"] += int(any(len(np.unique(r[np.isfinite(r)])) < np.isfinite(r).sum() for r in logits))
        covered["minus_inf_logits"] += int(np.isneginf(logits).any())
    missing = [k for k, v in covered.items() if v == 0]
    if missing:
        sys.exit(f"make_sampler_cases: the cases do not exercise {missing}: change the case generators")
    with open(os.path.join(out_dir, "cases.json"), "w", encoding="utf-8") as f:
        json.dump({"vocab": V, "stop_begin": STOP, "stop_end": V, "cases": entries, "covered": covered}, f, indent=1)
    print(f"[sampler] {len(entries)} cases, {sum(len(e['tokens']) for e in entries)} tokens, covered {covered}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
