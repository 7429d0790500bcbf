#!/usr/bin/env python3
"""`cosyvoice ab` on an LLM variant of the tiny model (docs/quantization.md §5).

usage: ab_llm_variant.py CLI TINY_BUNDLE TINY_Q OUT_DIR

The int8 LLM of `models/tiny/bundle-q`, seen through `variant view`, against the fp32 bundle with two
seeds per request, so that the reference's own seed-to-seed spread is measured. Checks the wiring
of that spread into the verdict, whatever the verdict is (on random weights either is possible):
ab.json judges the llm family alone, names the spread, and its token_edit_distance threshold is
max(0.60, spread); the report and the summary line say where the bound came from.
"""
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))

from cosyvoice_export import variant  # noqa: E402


def main() -> int:
    cli, bundle, bundle_q, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    out.mkdir(parents=True, exist_ok=True)
    view = variant.view(bundle_q, "llm/int8", out / "llm_int8", force=True)
    report = out / "report"
    run = subprocess.run([cli, "ab", "-m", str(bundle), "--variant-model", str(view), "--modes", "zero_shot",
                          "--seeds", "2", "--max-cases", "4", "--tokens", "12", "--threads", "2",
                          "--report", str(report)], capture_output=True, text=True)
    print(run.stdout + run.stderr)
    assert run.returncode in (0, 9), f"exit status {run.returncode}, expected 0 (passed) or 9 (failed)"

    ab = json.loads((report / "ab.json").read_text(encoding="utf-8"))
    assert ab["families"] == "llm", ab["families"]
    assert ab["cases"] == 4, ab["cases"]
    spread = ab["reference_sampling_spread"]
    assert 0.0 <= spread <= 1.0, spread
    assert ab["thresholds"]["token_edit_distance"] == max(0.60, spread), (ab["thresholds"], spread)
    assert {"llm_top1_agreement", "llm_mean_kl", "token_edit_distance"} <= set(ab["figures"]), ab["figures"]
    assert ab["status"] == ("passed" if run.returncode == 0 else "failed"), (ab["status"], run.returncode)
    assert "the reference's own seed-to-seed spread" in run.stdout, "summary line missing"
    page = (report / "report.md").read_text(encoding="utf-8")
    assert "seed-to-seed spread, " in page, "report line missing"
    print(f"ok: spread {spread:.4f}, token_edit_distance {ab['figures']['token_edit_distance']:.4f}, "
          f"verdict {ab['status']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
