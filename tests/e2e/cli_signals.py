#!/usr/bin/env python3
"""Ctrl-C and SIGTERM on `cosyvoice tts` (docs/cli.md, "Interrupting").

usage: cli_signals.py CLI BUNDLE PROMPT CASE
  int_during_synthesis   SIGINT after the first of many segments: "cancelled" within a segment's time,
                         the process ends by SIGINT (shell status 130), the previous output file is
                         untouched and no temporary file is left
  term_during_load       SIGTERM while the model loads: ends at once by SIGTERM (143), nothing left
  int_stdout_stream      SIGINT while streaming to stdout: what was written is a valid WAV prefix
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TEXT = " ".join(f"Sentence number {i} is here." for i in range(200))


def start(cli, args, cwd, stdout=subprocess.DEVNULL):
    return subprocess.Popen([cli] + args, cwd=cwd, stdout=stdout, stderr=subprocess.PIPE, text=False)


def wait_for(proc, needle, timeout=120):
    """Reads stderr until `needle` appears; returns what was read."""
    seen = b""
    deadline = time.time() + timeout
    while needle.encode() not in seen:
        if time.time() > deadline or proc.poll() is not None:
            raise SystemExit(f"FAIL: never saw {needle!r}:\n{seen.decode(errors='replace')}")
        seen += os.read(proc.stderr.fileno(), 4096)
    return seen


def check(cond, what):
    if not cond:
        raise SystemExit("FAIL: " + what)


def main(cli, bundle, prompt, case):
    d = tempfile.mkdtemp(prefix="cosyvoice-signals-")
    try:
        with open(os.path.join(d, "out.wav"), "wb") as f:
            f.write(b"previous output")
        with open(os.path.join(d, "long.txt"), "w") as f:
            f.write(TEXT)
        base = ["tts", "-m", bundle, "--prompt-wav", prompt, "--text-file", "long.txt", "--max-tokens", "40"]
        if case == "int_during_synthesis":
            proc = start(cli, base + ["-o", "out.wav"], d)
            seen = wait_for(proc, "segment 1/")
            sent = time.time()
            proc.send_signal(signal.SIGINT)
            rest = proc.stderr.read()
            proc.wait(60)
            took = time.time() - sent
            out = (seen + rest).decode(errors="replace")
            print(out)
            check(proc.returncode == -signal.SIGINT, f"ended by SIGINT (status {proc.returncode})")
            check("cancelled" in out, "prints 'cancelled'")
            check(took < 30, f"stopped within a segment ({took:.1f} s)")
        elif case == "term_during_load":
            proc = start(cli, base + ["-o", "out.wav"], d)
            wait_for(proc, "loading the model")
            proc.send_signal(signal.SIGTERM)
            rest = proc.stderr.read().decode(errors="replace")
            proc.wait(60)
            print(rest)
            check(proc.returncode == -signal.SIGTERM, f"ended by SIGTERM (status {proc.returncode})")
            check("cancelled" in rest, "prints 'cancelled'")
        elif case == "int_stdout_stream":
            with open(os.path.join(d, "stream.wav"), "wb") as sink:
                proc = start(cli, base + ["-o", "-"], d, stdout=sink)
                wait_for(proc, "segment 2/")
                proc.send_signal(signal.SIGINT)
                proc.stderr.read()
                proc.wait(60)
            check(proc.returncode == -signal.SIGINT, f"ended by SIGINT (status {proc.returncode})")
            data = open(os.path.join(d, "stream.wav"), "rb").read()
            check(data[:4] == b"RIFF" and data[36:40] == b"data", "a WAV stream header")
            check(len(data) > 44 and (len(data) - 44) % 2 == 0, f"whole 16-bit samples ({len(data)} bytes)")
            os.remove(os.path.join(d, "stream.wav"))
        else:
            raise SystemExit(__doc__)
        check(open(os.path.join(d, "out.wav"), "rb").read() == b"previous output", "previous output untouched")
        left = sorted(set(os.listdir(d)) - {"out.wav", "long.txt"})
        check(not left, f"nothing left behind (found {left})")
        print("ok")
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
