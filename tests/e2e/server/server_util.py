"""Helpers for the server's end-to-end tests: start `cosyvoice serve` on a free port, talk to it
with curl (a real client) and raw sockets, read its metrics."""
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import wave


class Server:
    """`cosyvoice serve` on port 0; the port is read from its 'listening on' line."""

    def __init__(self, cli, bundle, *args, data_dir=None, env=None):
        self.log_path = tempfile.mktemp(prefix="cosyvoice-serve-", suffix=".log")
        self.log = open(self.log_path, "w+")
        cmd = [cli, "serve", "-m", bundle, "--port", "0", *args]
        if data_dir:
            cmd += ["--data-dir", data_dir]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.port = None
        deadline = time.time() + 60
        while time.time() < deadline:
            text = self.output()
            m = re.search(r"listening on http://[^:]+:(\d+)/", text)
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                raise RuntimeError("server exited early:\n" + text)
            time.sleep(0.1)
        if self.port is None:
            raise RuntimeError("server did not start:\n" + self.output())
        self.url = f"http://127.0.0.1:{self.port}"

    def output(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.log.close()

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()


def curl(*args, data=None):
    """Runs curl; returns (status, headers dict lower-cased, body bytes)."""
    hdr = tempfile.mktemp()
    out = subprocess.run(["curl", "-sS", "-D", hdr, "--max-time", "120", *args], input=data,
                         capture_output=True, check=False)
    headers, status = {}, 0
    if os.path.exists(hdr):
        with open(hdr, "rb") as f:
            for line in f.read().decode("latin-1").splitlines():
                m = re.match(r"HTTP/\S+ (\d+)", line)
                if m:
                    status, headers = int(m.group(1)), {}  # the last response (after 100 Continue)
                elif ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
        os.unlink(hdr)
    return status, headers, out.stdout


def curl_json(*args, data=None):
    status, headers, body = curl(*args, data=data)
    return status, headers, json.loads(body) if body else None


def metrics(url):
    _, _, body = curl(url + "/metrics")
    values = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def write_wav(path, seconds, rate=16000, amplitude=8000):
    """A noise-like WAV (speech-sized spectrum is not needed for limit checks)."""
    import random
    rnd = random.Random(1)
    n = int(seconds * rate)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(int(rnd.uniform(-amplitude, amplitude)).to_bytes(2, "little", signed=True) for _ in range(n)))


def samples_per_token(bundle):
    with open(os.path.join(bundle, "config.json")) as f:
        c = json.load(f)
    return c["flow"]["token_mel_ratio"] * c["hift"]["hop_length"]


def raw_request(port, head, body=b""):
    """Opens a socket and sends a request head (and optional body); returns the socket."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(head.encode() + body)
    return s


def read_http_response(sock, timeout=120):
    """Reads until the peer closes or a chunked body ends; returns (status, headers, body, t_first_body, t_end)."""
    sock.settimeout(timeout)
    data = b""
    t0 = time.time()
    t_first = None
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:] if ":" in l)}
    body = b""
    buf = rest
    if headers.get("transfer-encoding") == "chunked":
        while True:
            while b"\r\n" not in buf:
                more = sock.recv(65536)
                if not more:
                    return status, headers, body, t_first, time.time() - t0
                buf += more
            size_line, _, buf = buf.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            while len(buf) < size + 2:
                more = sock.recv(65536)
                if not more:
                    return status, headers, body, t_first, time.time() - t0
                buf += more
            if t_first is None:
                t_first = time.time() - t0
            body += buf[:size]
            buf = buf[size + 2:]
    else:
        n = int(headers.get("content-length", "0"))
        body = buf
        while len(body) < n:
            more = sock.recv(65536)
            if not more:
                break
            body += more
        t_first = time.time() - t0
    return status, headers, body, t_first, time.time() - t0
