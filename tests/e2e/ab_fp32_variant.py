#!/usr/bin/env python3
"""`cosyvoice ab` with a reference bundle that holds fp32-equivalent variants (docs/quantization.md §5).

usage: ab_fp32_variant.py CLI TINY_Q OUT_DIR

`models/tiny/bundle-q` holds `llm/fp32-panel`, `llm/fp32-fused` and `hift/fp32-winograd`, all with gate status
`parity`, which a load with the default `--precision fp32` takes. The gate must still compare the
variant with the bundle's own graphs: judged against a reference that ran the same variant, every
variant would pass. So `hift/fp32-winograd`, seen through `variant view`, is judged against
bundle-q itself: ab.json must say that the reference ran the base graphs of every family, the
families judged are `hift` alone, and the verdict is `passed` (float32 arithmetic within its
derived bound of the base graph cannot move any figure past a threshold).
"""
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))

from cosyvoice_export import variant  # noqa: E402


def main() -> int:
    cli, bundle_q, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    view = variant.view(bundle_q, "hift/fp32-winograd", out / "hift_winograd", force=True)
    report = out / "report"
    run = subprocess.run([cli, "ab", "-m", str(bundle_q), "--variant-model", str(view), "--modes", "zero_shot",
                          "--seeds", "1", "--max-cases", "2", "--tokens", "12", "--threads", "2",
                          "--report", str(report)], capture_output=True, text=True)
    print(run.stdout + run.stderr)
    assert run.returncode == 0, f"exit status {run.returncode}, expected 0 (passed)"

    ab = json.loads((report / "ab.json").read_text(encoding="utf-8"))
    assert ab["families"] == "hift", ab["families"]
    assert ab["status"] == "passed", ab["status"]
    reference = dict(kv.split("=", 1) for kv in ab["graphs"]["reference"].split(","))
    assert set(reference.values()) == {"base"}, f"the reference ran {reference}, not its own graphs"
    assert {"llm", "flow", "hift"} <= set(reference), reference
    print("ok: the reference ran", ab["graphs"]["reference"], "- the variant view", ab["graphs"]["variant"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
