#!/usr/bin/env python3
"""The bad-input matrix of the `cosyvoice` tool (tests/e2e/cli_matrix.txt), one row per CTest test.

usage: cli_matrix.py setup FIXTURES CLI BUNDLE PROMPT SOURCE   write the shared inputs (once)
       cli_matrix.py run FIXTURES CLI TABLE ROW_ID              run one row in a fresh sandbox

Every row runs the CLI in its own sandbox directory holding copies of the inputs (a prompt
recording, a source recording, a voice file, a text file), a previous output `out.wav`, and links
to them. A row passes when:
  1. the exit code is the expected one;
  2. stdout+stderr match the row's regular expression;
  3. unless the row is marked `after-load`, the model was never loaded ("loading the model" is not
     printed): the error was found before any expensive work;
  4. the messages use the words of docs/cli.md, never the engine's internal names (INTERNAL_NAMES:
     `n_timesteps` for --steps, `matcha mel`, ...);
  5. no file of the sandbox changed (sha256), none appeared or vanished (but those the row says it
     creates), and no file of the model bundle changed (inode, size, mtime) - nothing lost, nothing
     leaked, not even a temporary file.

Row flags (third column, comma-separated):
  after-load      the error may come after the model loaded (found by the engine)
  tty-out/tty-in  stdout/stdin is a terminal (a pseudo-terminal)
  stdin=FILE      stdin reads FILE (placeholders allowed); default: /dev/null
  append-stdout=FILE  stdout is FILE opened for appending
  no-dac          file permissions apply even to root: run without CAP_DAC_OVERRIDE and
                  CAP_DAC_READ_SEARCH (same uid, so the binary and its libraries stay readable where the
                  checkout lies in a private home such as /root; switching to `nobody` could not read them)
  creates=NAME    the row (a success) creates NAME in the sandbox
  safety          the row checks behaviour of issue #14's library part (noted in reports)
  pending         that behaviour is not in this checkout yet (branch `safety`): CTest registers the
                  row as DISABLED, so it is listed as "Not Run (Disabled)" until the flag is removed
Placeholders: {B} bundle, {F} fixtures, {D} sandbox, {P} prompt, {S} source, {V} voice, {T} text
file, {O} the previous output; an argument @file:PATH is replaced by the contents of PATH.
"""
import hashlib
import json
import os
import pty
import re
import shlex
import shutil
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# Field and stage names of the engine and the upstream code that a user never typed (issue #15: "messages
# use internal names (`matcha mel`, `n_timesteps`)"); the CLI speaks of its flags and files instead.
INTERNAL_NAMES = re.compile(r"\b(n_timesteps|matcha|top_p|top_k|cfg_rate|inference_cfg_rate|min_tokens|max_tokens|"
                            r"max_token_text_ratio|speech_token|prompt_speech|spk_embedding|llm_embedding|"
                            r"flow_embedding|prompt_feat|sampling_)\w*")
RATE = 24000


# ---- fixtures ----------------------------------------------------------------------------------

def write_audio(path, x, rate, subtype="PCM_16"):
    import numpy as np  # only the setup needs numpy and soundfile: rows start fast
    import soundfile as sf
    sf.write(path, np.asarray(x, dtype=np.float32), rate, subtype=subtype)


def speech(prompt):
    import soundfile as sf
    x, rate = sf.read(prompt, dtype="float32", always_2d=True)
    return x.mean(axis=1), rate


def voice_parts(data):
    header_len = struct.unpack_from("<I", data, 12)[0]
    header = json.loads(data[16:16 + header_len])
    return header, data[16 + header_len:]


def voice_bytes(header, payload, version=1):
    header = dict(header)
    header["payload_sha256"] = hashlib.sha256(payload).hexdigest()
    h = json.dumps(header).encode()
    return b"CVVOICE\0" + struct.pack("<II", version, len(h)) + h + payload


def bad_voices(good, out):
    data = open(good, "rb").read()
    header, payload = voice_parts(data)
    k, d = header["num_speech_tokens"], header["embedding_dim"]
    files = {
        "truncated.voice": data[:-100],
        "empty.voice": b"",
        "badmagic.voice": b"X" + data[1:],
        "newer.voice": voice_bytes(header, payload, version=2),
        "corrupt.voice": data[:-1] + bytes([data[-1] ^ 0xFF]),  # checksum no longer matches
        "otherfrontend.voice": voice_bytes(dict(header, frontend_id="0123456789abcdef"), payload),
    }
    nan = bytearray(payload)
    struct.pack_into("<f", nan, 4 * k, float("nan"))  # the first embedding value, checksum recomputed
    files["nan.voice"] = voice_bytes(header, bytes(nan))
    assert 4 * k + 4 * d <= len(payload)
    for name, b in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(b)


def bad_audio(prompt, out):
    import numpy as np
    x, rate = speech(prompt)
    write_audio(os.path.join(out, "short.wav"), x[: rate // 2], rate)  # 0.5 s
    write_audio(os.path.join(out, "tiny_source.wav"), x[: rate // 20], rate)  # 0.05 s
    write_audio(os.path.join(out, "rate8k.wav"), np.interp(np.arange(0, len(x), 6), np.arange(len(x)), x), 8000)
    write_audio(os.path.join(out, "silent.wav"), np.zeros(rate * 2), rate)
    write_audio(os.path.join(out, "long31s.wav"), np.tile(x, int(31 * rate / len(x)) + 1)[: 31 * rate], rate)
    y = x.copy()
    y[100] = np.nan
    write_audio(os.path.join(out, "nan.wav"), y, rate, subtype="FLOAT")
    with open(os.path.join(out, "corrupt.wav"), "wb") as f:
        f.write(b"RIFF\x24\x00\x00\x00WAVEfmt " + os.urandom(200))
    open(os.path.join(out, "empty.wav"), "wb").close()
    with open(os.path.join(out, "text.wav"), "w") as f:
        f.write("this is not audio\n" * 20)


def texts(out):
    def put(name, data):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    put("big.txt", b"A sentence of text. " * 60000)  # 1.2 MB
    put("blank.txt", b"  \n\t\n")
    put("invalid_utf8.txt", b"Hello \xff\xfe world.")
    put("ansi.txt", b"\x1b[31mRed\x1b[0m text.")
    put("long_instruct.txt", ("Speak slowly. " * 900).encode())  # 12.6 kB
    put("long_transcript.txt", ("front center " * 9200).encode())  # 119.6 kB: under one argument's 128 KiB


def clone_bundle(bundle, out, link):
    shutil.rmtree(out, ignore_errors=True)
    for root, _, files in os.walk(bundle):
        rel = os.path.relpath(root, bundle)
        os.makedirs(os.path.join(out, rel), exist_ok=True)
        for f in files:
            link(os.path.abspath(os.path.join(root, f)), os.path.join(out, rel, f))


def edit_config(bundle, fn):
    path = os.path.join(bundle, "config.json")
    cfg = json.load(open(path))
    fn(cfg)
    os.remove(path)  # a link: do not write through it
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)


def broken_bundles(bundle, out):
    subprocess.run([sys.executable, os.path.join(HERE, "..", "tools", "make_broken_bundles.py"), bundle, out],
                   check=True)
    bad_json = os.path.join(out, "bad_json")
    clone_bundle(bundle, bad_json, os.symlink)
    os.remove(os.path.join(bad_json, "config.json"))
    with open(os.path.join(bad_json, "config.json"), "w") as f:
        f.write('{"format_version": "1.0", ')
    hostile = os.path.join(out, "hostile_skip")
    clone_bundle(bundle, hostile, os.symlink)
    edit_config(hostile, lambda c: c["hift"]["source_noise"].__setitem__("skip", 10 ** 15))
    # nan_noise/ (NaN noise of the right size, checksum recomputed: only the value check can tell)
    # comes from make_broken_bundles.py.


def setup(fixtures, cli, bundle, prompt, source):
    import numpy as np
    shutil.rmtree(fixtures, ignore_errors=True)
    inputs = os.path.join(fixtures, "inputs")
    os.makedirs(inputs)
    # The bundle rows write against: hard links (renaming over one leaves the real file alone).
    clone_bundle(bundle, os.path.join(fixtures, "bundle"), os.link)
    shutil.copy(prompt, os.path.join(inputs, "prompt.wav"))
    shutil.copy(source, os.path.join(inputs, "source.wav"))
    with open(os.path.join(inputs, "notes.txt"), "w") as f:
        f.write("Hello from a text file.\n")
    subprocess.run([cli, "-q", "voice", "create", "-m", bundle, "--prompt-wav", prompt, "--prompt-text",
                    "Front center.", "-o", os.path.join(inputs, "me.voice")], check=True)
    write_audio(os.path.join(inputs, "out.wav"), np.full(2400, 0.25), RATE)  # "a previous output"
    bad = os.path.join(fixtures, "bad")
    os.makedirs(bad)
    bad_voices(os.path.join(inputs, "me.voice"), bad)
    bad_audio(prompt, bad)
    texts(bad)
    broken_bundles(bundle, os.path.join(fixtures, "broken"))
    voices = os.path.join(fixtures, "voices")  # for `cosyvoice voices`
    os.makedirs(voices)
    shutil.copy(os.path.join(inputs, "me.voice"), voices)
    shutil.copy(os.path.join(bad, "truncated.voice"), voices)


# ---- one row -----------------------------------------------------------------------------------

def read_table(path):
    rows = {}
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.rstrip("\n").split(" | ", 4)]
        if len(parts) != 5:
            raise SystemExit(f"{path}:{n}: expected 'id | exit | flags | regex | command'")
        rid, code, flags, regex, command = parts
        flags = [f for f in flags.split(",") if f and f != "-"]
        rows[rid] = dict(exit=int(code), flags=flags, regex=regex, command=command)
    return rows


def sandbox(fixtures, rid):
    d = os.path.join(fixtures, "sandbox", rid)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    inputs = os.path.join(fixtures, "inputs")
    for f in ("prompt.wav", "source.wav", "me.voice", "notes.txt", "out.wav"):
        shutil.copy(os.path.join(inputs, f), os.path.join(d, f))
    os.link(os.path.join(d, "prompt.wav"), os.path.join(d, "hard.wav"))
    os.symlink("prompt.wav", os.path.join(d, "link.wav"))
    os.makedirs(os.path.join(d, "sub"))
    os.mkfifo(os.path.join(d, "fifo"))
    os.makedirs(os.path.join(d, "ro"))
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            p = os.path.join(root, n)
            if not os.path.islink(p) and n != "fifo":
                os.chmod(p, 0o755 if os.path.isdir(p) else 0o644)
    os.chmod(d, 0o755)
    os.chmod(os.path.join(d, "ro"), 0o555)
    return d


def snapshot(d):
    """{relative path: sha256 or kind} of everything under d (links not followed)."""
    out = {}
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            p = os.path.join(root, n)
            rel = os.path.relpath(p, d)
            st = os.lstat(p)
            if os.path.islink(p):
                out[rel] = "link->" + os.readlink(p)
            elif os.path.isfile(p):
                out[rel] = hashlib.sha256(open(p, "rb").read()).hexdigest()
            else:
                out[rel] = "dir" if os.path.isdir(p) else f"special:{st.st_mode:o}"
    return out


def bundle_state(b):
    out = {}
    for root, _, files in os.walk(b):
        for n in files:
            st = os.lstat(os.path.join(root, n))
            out[os.path.relpath(os.path.join(root, n), b)] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return out


def expand(command, places):
    for k, v in places.items():
        command = command.replace("{" + k + "}", v)
    return [open(a[len("@file:"):], encoding="utf-8", errors="surrogateescape").read() if a.startswith("@file:")
            else a for a in shlex.split(command)]


def run_row(fixtures, cli, table, rid):
    row = read_table(table)[rid]
    d = sandbox(fixtures, rid)
    places = {"B": os.path.join(fixtures, "bundle"), "F": fixtures, "D": d, "P": os.path.join(d, "prompt.wav"),
              "S": os.path.join(d, "source.wav"), "V": os.path.join(d, "me.voice"),
              "T": os.path.join(d, "notes.txt"), "O": os.path.join(d, "out.wav")}
    argv = [cli] + expand(row["command"], places)
    flags = {f.split("=")[0]: (f.split("=", 1)[1] if "=" in f else "") for f in row["flags"]}
    if "no-dac" in flags and os.geteuid() == 0:
        argv = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] + argv
    before, bundle_before = snapshot(d), bundle_state(places["B"])
    fixtures_before = snapshot(os.path.join(fixtures, "bad"))

    close = []
    stdin = open(os.devnull, "rb")
    stdout = subprocess.PIPE
    if "stdin" in flags:
        stdin = open(expand(flags["stdin"], places)[0], "rb")
    if "tty-in" in flags:
        master, slave = pty.openpty()
        stdin, close = slave, [master, slave]
    if "tty-out" in flags:
        master, slave = pty.openpty()
        stdout, close = slave, close + [master, slave]
    if "append-stdout" in flags:
        stdout = open(expand(flags["append-stdout"], places)[0], "ab")
    proc = subprocess.run(argv, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, cwd=d, timeout=120)
    for fd in close:
        os.close(fd)
    out = (proc.stdout or b"").decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
    print("$ " + " ".join(shlex.quote(a) for a in argv))
    print(out[-4000:])

    failures = []
    if proc.returncode != row["exit"]:
        failures.append(f"exit code {proc.returncode}, expected {row['exit']}")
    if not re.search(row["regex"], out):
        failures.append(f"output does not match /{row['regex']}/")
    internal = INTERNAL_NAMES.search(proc.stderr.decode("utf-8", "replace"))
    if internal:
        failures.append(f"the message uses the internal name '{internal[0]}'")
    if "after-load" not in flags and "loading the model" in out:
        failures.append("the model was loaded before the error was found")
    after = snapshot(d)
    creates = set(flags.get("creates", "").split("+")) - {""}
    for name in sorted(set(before) | set(after)):
        if name in creates:
            if name not in after:
                failures.append(f"{name} was not created")
        elif before.get(name) != after.get(name):
            what = "appeared" if name not in before else "vanished" if name not in after else "changed"
            failures.append(f"sandbox file {name} {what}")
    if bundle_state(places["B"]) != bundle_before:
        failures.append("a file of the model bundle changed")
    if snapshot(os.path.join(fixtures, "bad")) != fixtures_before:
        failures.append("an input fixture changed")
    if failures:
        print("FAIL: " + "; ".join(failures))
        return 1
    shutil.rmtree(d, ignore_errors=True)
    return 0


def main():
    if len(sys.argv) == 7 and sys.argv[1] == "setup":
        setup(*sys.argv[2:])
        return 0
    if len(sys.argv) == 6 and sys.argv[1] == "run":
        return run_row(*sys.argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
