#!/usr/bin/env python3
"""The progress display of `cosyvoice tts` (docs/cli.md, "Progress"; issue #15 item 3).

usage: cli_progress.py CLI BUNDLE PROMPT CASE
  terminal   stderr is a terminal (a pseudo-terminal): one status line redrawn in place (carriage
             return + erase-line) with a running clock during the model load and the voice preparation,
             per-segment progress with elapsed time and an estimate of the time left, finished steps
             on lines of their own, and the summary (audio seconds, RTF, segments, seed)
  plain      stderr is a file: no control characters, one `[cosyvoice] ...` line per finished step,
             one `segment k/N done` line per segment in order, the estimate while segments remain,
             and the same summary
The text is long enough for several segments; each segment is capped at a few speech tokens so that
the run stays short on the tiny model.
"""
import os
import pty
import re
import shutil
import subprocess
import sys
import tempfile

TEXT = " ".join(f"Sentence number {i} is here, and it goes on." for i in range(24))


def check(cond, what, out):
    if not cond:
        raise SystemExit(f"FAIL: {what}\n--- stderr ---\n{out}")


def run_on_pty(argv, cwd):
    """Runs argv with stderr on a pseudo-terminal; returns (exit code, everything it wrote there)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    return proc.wait(120), seen.decode("utf-8", "replace")


def check_summary(out):
    m = re.search(r"wrote out\.wav: ([0-9.]+) s of audio in ([0-9.]+) s \(RTF ([0-9.]+)\), ([0-9]+) segments, "
                  r"seed 0", out)
    check(m, "the summary line (audio seconds, RTF, segments, seed)", out)
    audio, seconds, rtf, segments = float(m[1]), float(m[2]), float(m[3]), int(m[4])
    check(audio > 0 and seconds > 0, "the summary reports audio and time", out)
    # RTF is printed with 3 decimals from the unrounded figures, the two it divides with 2: each of
    # those is within 0.005 of its true value, so seconds / audio may differ from the true ratio by
    # (0.005 + RTF * 0.005) / audio, plus 0.0005 for the RTF's own rounding.
    bound = (0.005 + rtf * 0.005) / audio + 0.0005
    check(abs(rtf - seconds / audio) <= bound, f"RTF {rtf} = {seconds} / {audio} (within {bound:.4f})", out)
    check(segments >= 3, f"the text makes several segments (got {segments})", out)
    return segments


def terminal(cli, bundle, prompt, d):
    code, out = run_on_pty([cli, "tts", "-m", bundle, "--prompt-wav", prompt, "--prompt-text", "Front center.",
                            TEXT, "-o", "out.wav", "--max-tokens", "8"], d)
    print(out.replace("\r", "\\r").replace("\x1b", "\\e"))
    check(code == 0, f"exit code {code}", out)
    segments = check_summary(out)
    check(re.search(r"\r\x1b\[Kloading the model from .*\.\.\. [0-9]+:[0-9]{2}", out),
          "a running clock while the model loads, redrawn in place", out)
    check(re.search(r"loaded model .* in [0-9.]+ s\r?\n", out), "the load, once done, on a line of its own", out)
    check(re.search(r"\r\x1b\[Kpreparing the voice from Front_Center\.wav", out), "the voice preparation", out)
    check(re.search(r"voice ready in [0-9.]+ s", out), "the voice preparation's time", out)
    shown = [int(k) for k in re.findall(r"\r\x1b\[Ksynthesizing: segment ([0-9]+)/%d, " % segments, out)]
    check(shown and shown == sorted(shown) and shown[-1] == segments, f"segments 1..{segments} in order", out)
    check(re.search(r"synthesizing: segment [0-9]+/%d, [0-9.]+ s of audio, [0-9]+:[0-9]{2} elapsed, "
                    r"about [0-9]+:[0-9]{2} left" % segments, out), "elapsed time and the time left", out)


def plain(cli, bundle, prompt, d):
    with open(os.path.join(d, "log.txt"), "wb") as log:
        code = subprocess.run([cli, "tts", "-m", bundle, "--prompt-wav", prompt, "--prompt-text", "Front center.",
                               TEXT, "-o", "out.wav", "--max-tokens", "8"], cwd=d, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=log, timeout=120).returncode
    out = open(os.path.join(d, "log.txt"), encoding="utf-8").read()
    print(out)
    check(code == 0, f"exit code {code}", out)
    segments = check_summary(out)
    check("\r" not in out and "\x1b" not in out, "no terminal control characters in a file", out)
    lines = out.splitlines()
    check(all(line.startswith("[cosyvoice] ") for line in lines), "every line is a [cosyvoice] line", out)
    check(any(re.match(r"\[cosyvoice\] loading the model from ", line) for line in lines), "the load", out)
    check(any(re.match(r"\[cosyvoice\] voice ready in ", line) for line in lines), "the voice", out)
    done = [re.match(r"\[cosyvoice\] segment ([0-9]+)/([0-9]+) done: [0-9.]+ s of audio, [0-9]+:[0-9]{2} elapsed"
                     r"(, about [0-9]+:[0-9]{2} left)?$", line) for line in lines]
    done = [m for m in done if m]
    check([int(m[1]) for m in done] == list(range(1, segments + 1)), "one line per segment, in order", out)
    check(all(m[3] for m in done[:-1]) and not done[-1][3], "the time left while segments remain", out)


def main(cli, bundle, prompt, case):
    d = tempfile.mkdtemp(prefix="cosyvoice-progress-")
    try:
        {"terminal": terminal, "plain": plain}[case](os.path.abspath(cli), os.path.abspath(bundle), prompt, d)
        print("ok")
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
