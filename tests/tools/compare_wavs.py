#!/usr/bin/python3
"""compare_wavs.py A.wav B.wav TOL - the same speech from two builds, sample for sample.

Passes (exit 0) when both files have the same sample rate, channel count and length, every sample
is finite, and max|A - B| <= TOL (absolute, in float32 sample units). Prints the figures either way.
Used by scripts/test-arm64.sh to compare the aarch64 build's `tts --float` output with x86-64's;
the tolerance is derived there.
"""
import sys

import numpy as np
import soundfile as sf


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    path_a, path_b, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
    a, rate_a = sf.read(path_a, dtype="float32", always_2d=True)
    b, rate_b = sf.read(path_b, dtype="float32", always_2d=True)
    print(f"{path_a}: {a.shape[0]} samples x {a.shape[1]} at {rate_a} Hz, peak {np.abs(a).max():.4g}")
    print(f"{path_b}: {b.shape[0]} samples x {b.shape[1]} at {rate_b} Hz, peak {np.abs(b).max():.4g}")
    if (rate_a, a.shape) != (rate_b, b.shape):
        print("FAIL: sample rate, channels or length differ (different speech tokens?)")
        return 1
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        print("FAIL: non-finite samples")
        return 1
    if a.size == 0:
        print("FAIL: no samples")
        return 1
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
    worst = int(diff.argmax())
    print(f"max |A - B| = {diff.max():.3g} at sample {worst // a.shape[1]} (tolerance {tol:g}); "
          f"mean {diff.mean():.3g}; identical samples {np.mean(diff == 0):.1%}")
    if diff.max() > tol:
        print("FAIL: difference above the tolerance")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
