#!/usr/bin/env python3
"""Runs a recipe of docs/cli.md exactly as written (one CTest test per recipe).

usage: cli_recipes.py DOC NAME CLI BUNDLE PROMPT VOICE
       cli_recipes.py DOC --list          the recipe names, one per line

A recipe is a ```sh block right after a `<!-- recipe: NAME -->` line. It runs under
`bash -euo pipefail` in a fresh directory holding `bundle/` (a link to BUNDLE), `me.wav` (PROMPT) and
`me.voice` (VOICE), with `cosyvoice` on the PATH. Audio players are replaced by checkers of what they
receive: `aplay` (WAV with any header, including the streaming one, or raw `-f S16_LE -r 24000 -c 1`)
must get decodable, finite, non-empty audio. Afterwards every audio file the recipe wrote must decode
and hold samples.
"""
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

AUDIO_EXT = (".wav", ".flac", ".mp3", ".opus", ".ogg")

# The stand-in for aplay: validates the stream it is given.
APLAY = r'''#!/usr/bin/env python3
import io, sys
import numpy as np, soundfile as sf
args, data = sys.argv[1:], sys.stdin.buffer.read()
if "-f" in args:
    fmt, rate, ch = args[args.index("-f") + 1], int(args[args.index("-r") + 1]), int(args[args.index("-c") + 1])
    assert (fmt, rate, ch) == ("S16_LE", 24000, 1), args
    assert len(data) % 2 == 0, "odd byte count for 16-bit samples"
    x = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768
else:
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", "not a WAV stream"
    x, rate = sf.read(io.BytesIO(data), dtype="float32")
    assert rate == 24000, rate
assert len(x) > 0 and np.all(np.isfinite(x)), "no samples"
print(f"aplay (checker): {len(x)} samples at {rate} Hz", file=sys.stderr)
'''


def recipes(doc):
    text = open(doc, encoding="utf-8").read()
    return dict(re.findall(r"<!-- recipe: ([a-z0-9_]+) -->\n```sh\n(.*?)```", text, flags=re.S))


def check_audio_files(d):
    import soundfile as sf
    for name in sorted(os.listdir(d)):
        if name.endswith(AUDIO_EXT) and name != "me.wav":
            info = sf.info(os.path.join(d, name))
            if info.frames <= 0:
                raise SystemExit(f"FAIL: {name} holds no audio")
            print(f"{name}: {info.frames} frames at {info.samplerate} Hz ({info.format})")


def run(doc, name, cli, bundle, prompt, voice):
    script = recipes(doc)[name]
    d = tempfile.mkdtemp(prefix="cosyvoice-recipe-")
    try:
        bin_dir = os.path.join(d, ".bin")
        os.makedirs(bin_dir)
        os.symlink(os.path.abspath(cli), os.path.join(bin_dir, "cosyvoice"))
        aplay = os.path.join(bin_dir, "aplay")
        with open(aplay, "w") as f:
            f.write(APLAY.replace("/usr/bin/env python3", sys.executable, 1))
        os.chmod(aplay, os.stat(aplay).st_mode | stat.S_IEXEC)
        os.symlink(os.path.abspath(bundle), os.path.join(d, "bundle"))
        shutil.copy(prompt, os.path.join(d, "me.wav"))
        if name != "save_a_voice":
            shutil.copy(voice, os.path.join(d, "me.voice"))
        env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
        print(script)
        proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=d, env=env,
                              stdin=subprocess.DEVNULL, timeout=600)
        if proc.returncode != 0:
            raise SystemExit(f"FAIL: the recipe exited with {proc.returncode}")
        check_audio_files(d)
        print("ok")
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[2] == "--list":
        print("\n".join(recipes(sys.argv[1])))
    elif len(sys.argv) == 7:
        run(*sys.argv[1:])
    else:
        raise SystemExit(__doc__)
