"""End-to-end tests of `cosyvoice serve` on the tiny model: every route and its error answers,
driven by curl (a real client), raw sockets where timing matters, the official OpenAI JavaScript
client (npm `openai`) and a request shaped exactly as the official `openai` Python client sends it
(that package is not installable here; the headers and body are copied from openai-python's
audio.speech.create: POST /v1/audio/speech, JSON body, Accept: application/octet-stream, bearer key).

    COSYVOICE_CLI=build/bin/cosyvoice COSYVOICE_BUNDLE=models/tiny/bundle python3 test_server_api.py
"""
import base64
import json
import os
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from server_util import (Server, curl, curl_json, metrics, raw_request, read_http_response, samples_per_token,  # noqa: E402
                         write_wav)

CLI = os.environ.get("COSYVOICE_CLI", "build/bin/cosyvoice")
BUNDLE = os.environ.get("COSYVOICE_BUNDLE", "models/tiny/bundle")
BUNDLE_Q = os.environ.get("COSYVOICE_BUNDLE_Q", "")  # the tiny bundle with LLM variants (bundle-q)
PROMPT = os.environ.get("COSYVOICE_PROMPT", "/usr/share/sounds/alsa/Front_Center.wav")
SOURCE = "/usr/share/sounds/alsa/Rear_Left.wav"
NODE = shutil.which("node")
OPENAI_JS = os.environ.get("COSYVOICE_OPENAI_JS", "third_party/node/openai")
SPT = samples_per_token(BUNDLE)
JSON_HEADERS = ["-H", "Content-Type: application/json"]
# One sentence; with min_tokens = max_tokens = LONG_TOKENS the engine streams it in many chunks.
LONG_TEXT = "This sentence is long enough to be synthesized in many streaming chunks."
LONG_TOKENS = 250  # below the bundle's cap of max_token_text_ratio (20) x its ~13 text tokens


def speech(url, body, *extra):
    return curl(url + "/v1/audio/speech", *JSON_HEADERS, *extra, "--data-binary", "@-", data=json.dumps(body).encode())


class Api(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cosyvoice-server-test-")
        cls.server = Server(CLI, BUNDLE, "--workers", "2", data_dir=os.path.join(cls.tmp, "data"))
        cls.url = cls.server.url
        status, _, v = curl_json("-F", "name=front", "-F", "transcript=Front center.", "-F", f"audio=@{PROMPT}",
                                 cls.url + "/v1/audio/voices")
        assert status == 201, (status, v)
        cls.voice = v

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert code == 0, f"server exit code {code}"

    # ---- discovery -------------------------------------------------------------------------
    def test_health(self):
        status, _, h = curl_json(self.url + "/health")
        self.assertEqual(status, 200)
        self.assertEqual(h["status"], "ok")
        self.assertEqual(h["sample_rate"], 24000)
        self.assertEqual(h["formats"], ["wav", "pcm", "flac", "mp3", "opus", "ogg"])
        self.assertEqual(h["workers"], 2)

    def test_models(self):
        status, _, m = curl_json(self.url + "/v1/models")
        self.assertEqual(status, 200)
        self.assertEqual(m["object"], "list")
        ids = [d["id"] for d in m["data"]]
        self.assertIn("cosyvoice3-tiny-random", ids)
        self.assertIn("tts-1", ids)
        self.assertEqual(curl_json(self.url + "/v1/models/tts-1")[2]["id"], "tts-1")
        status, _, e = curl_json(self.url + "/v1/models/whisper-1")
        self.assertEqual((status, e["error"]["code"]), (404, "model_not_found"))

    def test_unknown_route_is_an_error_object(self):
        status, _, e = curl_json(self.url + "/v1/nope")
        self.assertEqual((status, e["error"]["code"]), (404, "not_found"))

    def test_wrong_method_is_405_naming_the_allowed_ones(self):
        for method, route, allow in (("GET", "/v1/audio/speech", "POST"),
                                     ("PUT", "/v1/audio/voices/front", "GET, HEAD, DELETE"),
                                     ("POST", "/health", "GET, HEAD"),
                                     ("DELETE", "/v1/audio/synthesize", "POST")):
            status, headers, body = curl("-X", method, "--data-binary", "", self.url + route)
            e = json.loads(body)
            self.assertEqual((status, e["error"]["code"]), (405, "method_not_allowed"), (method, route))
            self.assertEqual(headers["allow"], allow, (method, route))
            self.assertIn(method, e["error"]["message"])
        status, headers, _ = curl("-X", "PUT", "--data-binary", "", self.url + "/v1/nope")  # no route: still 404
        self.assertEqual(status, 404)
        status, _, e = curl_json("-X", "PUT", self.url + "/v1/audio/voices/front")  # curl sends no length here
        self.assertEqual((status, e["error"]["code"]), (400, "length_required"))

    def test_page_and_assets(self):
        status, headers, body = curl(self.url + "/")
        self.assertEqual(status, 200)
        self.assertIn("text/html", headers["content-type"])
        self.assertIn(b'<script src="/app.js">', body)
        self.assertNotIn(b"http://", body.replace(b"http://www.w3.org", b""))  # nothing from elsewhere
        self.assertIn("default-src 'self'", headers["content-security-policy"])
        for asset, kind in (("/app.js", "javascript"), ("/style.css", "css")):
            status, headers, body = curl(self.url + asset)
            self.assertEqual(status, 200)
            self.assertIn(kind, headers["content-type"])
            self.assertGreater(len(body), 1000)

    # ---- voice library -----------------------------------------------------------------------
    def test_voice_listing_and_lookup(self):
        status, _, lst = curl_json(self.url + "/v1/audio/voices")
        self.assertEqual(status, 200)
        v = next(v for v in lst["voices"] if v["name"] == "front")
        self.assertEqual(v["id"], self.voice["id"])
        self.assertAlmostEqual(v["duration"], 1.428, places=2)
        self.assertGreater(v["created"], 1600000000)
        self.assertEqual(v["transcript"], "Front center.")
        for key in (v["id"], "front"):
            status, _, got = curl_json(self.url + "/v1/audio/voices/" + key)
            self.assertEqual((status, got["name"]), (200, "front"))

    def test_voice_create_errors(self):
        url = self.url + "/v1/audio/voices"
        cases = [
            (["-F", "name=front", "-F", f"audio=@{PROMPT}"], 409, "name_taken"),
            (["-F", "name=../../etc/passwd", "-F", f"audio=@{PROMPT}"], 400, "invalid_voice_name"),
            (["-F", "name=" + "x" * 65, "-F", f"audio=@{PROMPT}"], 400, "invalid_voice_name"),
            (["-F", "name=a/b", "-F", f"audio=@{PROMPT}"], 400, "invalid_voice_name"),
            (["-F", "name=nofile"], 400, "missing_field"),
            (["-F", "name=junk", "-F", "audio=@" + __file__], 400, "invalid_audio"),
        ]
        long_wav = os.path.join(self.tmp, "long31.wav")
        write_wav(long_wav, 31)
        cases.append((["-F", "name=long", "-F", f"audio=@{long_wav}"], 400, "invalid_audio"))
        many = []
        for i in range(20):
            many += ["-F", f"f{i}=x"]
        cases.append((["-F", "name=many", *many], 413, "too_large"))
        for args, want_status, want_code in cases:
            status, _, e = curl_json(*args, url)
            self.assertEqual((status, e["error"]["code"]), (want_status, want_code), (args[:2], e))
        status, _, e = curl_json("-F", "name=long2", "-F", f"audio=@{long_wav}", url)
        self.assertIn("at most 30 s", e["error"]["message"])
        self.assertNotIn("long", [v["name"] for v in curl_json(url)[2]["voices"]])

    def test_voice_delete(self):
        status, _, v = curl_json("-F", "name=temp voice", "-F", f"audio=@{PROMPT}", self.url + "/v1/audio/voices")
        self.assertEqual(status, 201)
        status, _, d = curl_json("-X", "DELETE", self.url + "/v1/audio/voices/" + v["id"])
        self.assertEqual((status, d["deleted"]), (200, True))
        self.assertEqual(curl_json(self.url + "/v1/audio/voices/" + v["id"])[0], 404)
        self.assertEqual(curl_json("-X", "DELETE", self.url + "/v1/audio/voices/" + v["id"])[0], 404)

    # ---- OpenAI speech -------------------------------------------------------------------------
    def test_speech_wav_whole_has_exact_length(self):
        status, headers, body = speech(self.url, {"model": "tts-1", "input": "Hello world.", "voice": "front",
                                                  "response_format": "wav", "stream": False, "min_tokens": 25,
                                                  "max_tokens": 25, "seed": 7})
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "audio/wav")
        self.assertEqual(headers["x-sample-rate"], "24000")
        self.assertEqual(headers["x-accel-buffering"], "no")
        self.assertEqual(body[:4], b"RIFF")
        rate, = struct.unpack("<I", body[24:28])
        data_bytes, = struct.unpack("<I", body[40:44])
        self.assertEqual((rate, data_bytes, len(body)), (24000, 2 * 25 * SPT, 44 + 2 * 25 * SPT))

    def test_stream_modes_stream_the_same_length(self):
        # 60 tokens stream in several chunks; every mode gives the same number of samples, and
        # fast's first chunk comes at the first attention-chunk boundary (docs/streaming.md §8.1)
        lengths, bodies = {}, {}
        for mode in ("exact", "fast", "recompute"):
            status, _, body = speech(self.url, {"input": LONG_TEXT, "voice": "front", "response_format": "pcm",
                                                "min_tokens": 60, "max_tokens": 60, "seed": 5, "stream_mode": mode})
            self.assertEqual(status, 200, (mode, body[:300]))
            lengths[mode], bodies[mode] = len(body), body
        self.assertEqual(set(lengths.values()), {2 * 60 * SPT}, lengths)
        self.assertNotEqual(bodies["fast"], bodies["exact"])  # fast's last chunk keeps chunk attention

    def test_speech_same_seed_same_audio(self):
        body = {"input": "Hello world.", "voice": "front", "response_format": "pcm", "max_tokens": 40, "seed": 3}
        a = speech(self.url, body)[2]
        b = speech(self.url, body)[2]
        self.assertEqual(a, b)

    def test_speech_every_format(self):
        magic = {"wav": b"RIFF", "flac": b"fLaC", "opus": b"OggS", "mp3": None, "pcm": None}
        for fmt, stream in [(f, s) for f in magic for s in (True, False)]:
            status, headers, body = speech(self.url, {"input": "Hello.", "voice": "front", "response_format": fmt,
                                                      "stream": stream, "min_tokens": 25, "max_tokens": 25})
            self.assertEqual(status, 200, (fmt, stream, body[:200]))
            if magic[fmt]:
                self.assertEqual(body[:4], magic[fmt], fmt)
            if fmt == "pcm":
                self.assertEqual(len(body), 2 * 25 * SPT)
                self.assertIn("rate=24000", headers["content-type"])
            if fmt == "mp3":
                self.assertTrue(body[:3] == b"ID3" or (body[0] == 0xFF and body[1] & 0xE0 == 0xE0), body[:4])
            if fmt == "opus":
                self.assertIn(b"OpusHead", body[:100])
            if fmt == "wav" and stream:
                self.assertEqual(struct.unpack("<I", body[40:44])[0], 0xFFFFFFFF, "streamed WAV: unknown length")

    def test_speech_sse(self):
        status, headers, body = speech(self.url, {"input": "Hello world.", "voice": "front", "response_format": "pcm",
                                                  "stream_format": "sse", "min_tokens": 25, "max_tokens": 25})
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/event-stream"))
        events = [json.loads(line[6:]) for line in body.decode().split("\n") if line.startswith("data: ")]
        deltas = [e for e in events if e["type"] == "speech.audio.delta"]
        self.assertGreater(len(deltas), 0)
        audio = b"".join(base64.b64decode(e["audio"]) for e in deltas)
        self.assertEqual(len(audio), 2 * 25 * SPT)
        self.assertEqual(events[-1]["type"], "speech.audio.done")
        usage = events[-1]["usage"]
        self.assertEqual(usage["output_tokens"], 25)
        self.assertGreater(usage["input_tokens"], 0)
        self.assertEqual(usage["total_tokens"], usage["input_tokens"] + usage["output_tokens"])

    def test_speech_instructions_select_instruct_mode(self):
        status, _, body = speech(self.url, {"input": "今天天气不错。", "voice": "front", "instructions": "请用四川话说这句话。",
                                            "response_format": "pcm", "min_tokens": 25, "max_tokens": 25})
        self.assertEqual((status, len(body)), (200, 2 * 25 * SPT))

    def test_speech_errors(self):
        cases = [
            ({"input": "Hi.", "voice": "front", "response_format": "aac"}, 400, "unsupported_format",
             "available: wav, pcm, flac, mp3, opus, ogg"),
            ({"voice": "front"}, 400, "missing_field", "input is required"),
            ({"input": "   ", "voice": "front"}, 400, "empty_input", "input is empty"),
            ({"input": "x" * 4097, "voice": "front"}, 400, "text_too_long", "at most 4096"),
            ({"input": "Hi."}, 400, "missing_field", "voice is required"),
            ({"input": "Hi.", "voice": "alloy"}, 404, "voice_not_found", "voices: front"),
            ({"input": "Hi.", "voice": "front", "speed": 4}, 400, "invalid_value", "between 0.5 and 2.0"),
            ({"input": "Hi.", "voice": "front", "model": "whisper-1"}, 404, "model_not_found", "tts-1"),
            ({"input": "Hi.", "voice": "front", "seed": -1}, 400, "invalid_value", "seed"),
            ({"input": "Hi.", "voice": "front", "max_tokens": 100000}, 400, "invalid_value", "between 1 and 3000"),
            ({"input": "Hi.", "voice": "front", "stream_format": "ws"}, 400, "invalid_value", "'audio' or 'sse'"),
            ({"input": "Hi.", "voice": "front", "mode": "sing"}, 400, "invalid_value", "expected zero_shot"),
            ({"input": "Hi.", "voice": "front", "stream_mode": "quick"}, 400, "invalid_value", "'exact', 'fast'"),
            ({"input": "Hi<|endofprompt|>there.", "voice": "front", "mode": "zero_shot"}, 400, "invalid_value",
             "endofprompt"),
        ]
        for body, want_status, want_code, want_text in cases:
            status, _, raw = speech(self.url, body)
            e = json.loads(raw)["error"]
            self.assertEqual((status, e["code"]), (want_status, want_code), (body, e))
            self.assertIn(want_text, e["message"], body)
            self.assertIn("type", e)
        status, _, raw = curl(self.url + "/v1/audio/speech", *JSON_HEADERS, "-d", "{not json")
        self.assertEqual((status, json.loads(raw)["error"]["code"]), (400, "invalid_json"))

    def test_body_limit(self):
        big = os.path.join(self.tmp, "big.bin")
        with open(big, "wb") as f:
            f.write(b"x" * (33 << 20))
        status, _, raw = curl(self.url + "/v1/audio/speech", *JSON_HEADERS, "--data-binary", "@" + big)
        self.assertEqual(status, 413)
        self.assertEqual(json.loads(raw)["error"]["code"], "too_large")

    def test_openai_python_client_shape(self):
        # Exactly what openai-python 1.x sends for client.audio.speech.create(model=, voice=, input=,
        # response_format=, extra_body={"seed": ...}) (openai/resources/audio/speech.py: extra headers
        # Accept: application/octet-stream; the body is the JSON of the parameters plus extra_body).
        body = json.dumps({"input": "Hello from the OpenAI client.", "model": "tts-1", "voice": "front",
                           "response_format": "wav", "speed": 1.0, "seed": 1, "max_tokens": 30}).encode()
        head = ("POST /v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip, deflate\r\n"
                "Connection: keep-alive\r\nAccept: application/octet-stream\r\nContent-Type: application/json\r\n"
                "User-Agent: OpenAI/Python 1.54.0\r\nX-Stainless-Lang: python\r\nX-Stainless-Package-Version: 1.54.0\r\n"
                "X-Stainless-OS: Linux\r\nX-Stainless-Arch: x64\r\nX-Stainless-Runtime: CPython\r\n"
                "X-Stainless-Runtime-Version: 3.11.2\r\nAuthorization: Bearer sk-not-needed\r\n"
                "X-Stainless-Async: false\r\nX-Stainless-Retry-Count: 0\r\nX-Stainless-Read-Timeout: 600\r\n"
                f"Content-Length: {len(body)}\r\n\r\n")
        s = raw_request(self.server.port, head, body)
        status, headers, audio, _, _ = read_http_response(s)
        s.close()
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "audio/wav")
        self.assertEqual(audio[:4], b"RIFF")

    @unittest.skipUnless(NODE and os.path.isdir(OPENAI_JS), "node or the openai npm package is missing (make deps)")
    def test_official_openai_js_client(self):
        script = f"""
const OpenAI = require({json.dumps(os.path.abspath(OPENAI_JS))}).default;
const client = new OpenAI({{ baseURL: '{self.url}/v1', apiKey: 'sk-local', maxRetries: 0 }});
(async () => {{
  const models = await client.models.list();
  const res = await client.audio.speech.create({{ model: 'tts-1', voice: 'front', input: 'Hello from Node.',
      response_format: 'pcm', min_tokens: 25, max_tokens: 25 }});
  const bytes = Buffer.from(await res.arrayBuffer());
  let err = null;
  try {{ await client.audio.speech.create({{ model: 'tts-1', voice: 'nobody', input: 'x' }}); }}
  catch (e) {{ err = {{ status: e.status, code: e.code, type: e.type }}; }}
  console.log(JSON.stringify({{ models: models.data.map((m) => m.id), bytes: bytes.length, err }}));
}})().catch((e) => {{ console.error(e); process.exit(1); }});
"""
        out = subprocess.run([NODE, "-e", script], capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        r = json.loads(out.stdout)
        self.assertIn("tts-1", r["models"])
        self.assertEqual(r["bytes"], 2 * 25 * SPT)
        self.assertEqual(r["err"], {"status": 404, "code": "voice_not_found", "type": "invalid_request_error"})

    # ---- the page's route and the official routes ------------------------------------------------
    def test_synthesize_route_modes(self):
        url = self.url + "/v1/audio/synthesize"
        common = ["-F", "min_tokens=25", "-F", "max_tokens=25", "-F", "response_format=pcm"]
        for args in (["-F", "mode=zero_shot", "-F", "text=Hello.", "-F", f"prompt_audio=@{PROMPT}", "-F",
                      "prompt_text=Front center."],
                     ["-F", "mode=cross_lingual", "-F", "text=你好。", "-F", "voice=front"],
                     ["-F", "mode=instruct2", "-F", "text=你好。", "-F", "instruct=请用广东话表达。", "-F", "voice=front"]):
            status, headers, body = curl(*args, *common, url)
            self.assertEqual((status, len(body)), (200, 2 * 25 * SPT), (args, body[:200]))
        status, _, body = curl("-F", "mode=vc", "-F", "voice=front", "-F", f"source_audio=@{SOURCE}",
                               "-F", "response_format=wav", url)
        self.assertEqual(status, 200)
        self.assertEqual(body[:4], b"RIFF")
        for args, code in ((["-F", "mode=vc", "-F", "voice=front"], "missing_field"),
                           (["-F", "text=Hi."], "missing_field"),
                           (["-F", "mode=zero_shot", "-F", "text=Hi.", "-F", f"prompt_audio=@{PROMPT}"], "invalid_value")):
            status, _, e = curl_json(*args, url)
            self.assertEqual((status, e["error"]["code"]), (400, code), (args, e))

    def test_official_routes(self):
        fixed = ["-F", "min_tokens=25", "-F", "max_tokens=25"]
        for route, args in (("/inference_zero_shot", ["--form-string", "tts_text=Hello.", "-F", "prompt_text=Front center.",
                                                      "-F", f"prompt_wav=@{PROMPT}"]),
                            ("/inference_cross_lingual", ["--form-string", "tts_text=<|en|>Hello.", "-F", f"prompt_wav=@{PROMPT}"]),
                            ("/inference_instruct2", ["-F", "tts_text=你好。", "-F", "instruct_text=请用四川话说这句话。",
                                                      "-F", f"prompt_wav=@{PROMPT}"]),
                            ("/inference_sft", ["-F", "tts_text=Hello.", "-F", "spk_id=front"])):
            status, headers, body = curl(*args, *fixed, self.url + route)
            self.assertEqual(status, 200, (route, body[:300]))
            self.assertEqual(headers["x-sample-rate"], "24000", route)
            self.assertTrue(headers["content-type"].startswith("audio/pcm;rate=24000"), route)
            self.assertEqual(len(body), 2 * 25 * SPT, route)
        status, _, e = curl_json("-F", "tts_text=Hello.", self.url + "/inference_zero_shot")
        self.assertEqual((status, e["error"]["param"]), (400, "prompt_wav"))
        status, _, e = curl_json("-F", "tts_text=Hello.", "-F", f"prompt_wav=@{PROMPT}", self.url + "/inference_zero_shot")
        self.assertEqual((status, e["error"]["param"]), (400, "prompt_text"))
        status, _, e = curl_json("-F", "tts_text=Hello.", "-F", "spk_id=nobody", self.url + "/inference_sft")
        self.assertEqual(status, 404)
        status, _, e = curl_json(self.url + "/inference_zero_shot")
        self.assertEqual((status, e["error"]["code"]), (405, "use_post"))
        self.assertEqual(curl(self.url + "/inference_zero_shot")[1]["allow"], "POST")
        # url-encoded forms work too (no file: the saved voice)
        status, _, body = curl("-d", "tts_text=Hello.&spk_id=front&min_tokens=25&max_tokens=25", self.url + "/inference_sft")
        self.assertEqual((status, len(body)), (200, 2 * 25 * SPT))

    # ---- streaming behaviour ---------------------------------------------------------------------
    def test_first_bytes_arrive_before_synthesis_ends(self):
        body = json.dumps({"input": LONG_TEXT, "voice": "front", "response_format": "pcm", "min_tokens": LONG_TOKENS,
                           "max_tokens": LONG_TOKENS}).encode()
        head = (f"POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n")
        s = raw_request(self.server.port, head, body)
        status, headers, audio, t_first, t_end = read_http_response(s)
        s.close()
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("transfer-encoding"), "chunked")
        self.assertEqual(len(audio), 2 * LONG_TOKENS * SPT)
        # The engine emits the sentence in chunks of a few dozen tokens: the first arrives long before the end.
        self.assertLess(t_first, 0.5 * t_end, (t_first, t_end))

    def test_metrics(self):
        speech(self.url, {"input": "Hi.", "voice": "front", "response_format": "pcm", "max_tokens": 20})
        m = metrics(self.url)
        self.assertGreaterEqual(m['cosyvoice_requests_total{route="/v1/audio/speech",status="200"}'], 1)
        self.assertGreaterEqual(m['cosyvoice_requests_total{route="/v1/audio/voices",status="201"}'], 1)
        self.assertEqual(m["cosyvoice_workers"], 2)
        for name in ("cosyvoice_queue_depth", "cosyvoice_in_flight", "cosyvoice_voices"):
            self.assertIn(name, m)
        self.assertGreaterEqual(m["cosyvoice_first_audio_seconds_count"], 1)
        self.assertGreaterEqual(m['cosyvoice_synthesis_seconds_bucket{le="+Inf"}'], 1)
        self.assertGreater(m["cosyvoice_rtf_count"], 0)
        self.assertGreater(m["cosyvoice_speech_tokens_total"], 0)
        self.assertGreater(m["cosyvoice_audio_seconds_total"], 0)
        self.assertEqual(m["cosyvoice_stream_cache_fallbacks_total"], 0)  # 4 GiB: never reached here

    def test_request_log_line(self):
        speech(self.url, {"input": "Hi.", "voice": "front", "response_format": "pcm", "max_tokens": 20},
               "-H", "X-Request-Id: log-check-1")
        time.sleep(0.2)
        line = next(l for l in self.server.output().splitlines() if "log-check-1" in l)
        self.assertRegex(line, r"log-check-1 POST /v1/audio/speech 200 audio=[0-9.]+s first_audio=[0-9.]+s total=[0-9.]+s")


class Auth(unittest.TestCase):
    def test_api_key(self):
        key_file = tempfile.mktemp()
        with open(key_file, "w") as f:
            f.write("# keys\nkey-from-file-123\n")
        env = dict(os.environ, COSYVOICE_API_KEY="key-from-env-456")
        server = Server(CLI, BUNDLE, "--api-key", "key-from-flag-789", "--api-key-file", key_file, env=env)
        try:
            self.assertEqual(curl_json(server.url + "/health")[2]["auth_required"], True)
            status, headers, e = curl_json(server.url + "/v1/audio/voices")
            self.assertEqual((status, e["error"]["type"]), (401, "authentication_error"))
            self.assertEqual(headers["www-authenticate"], "Bearer")
            self.assertEqual(curl_json("-H", "Authorization: Bearer wrong-key-000", server.url + "/v1/models")[0], 401)
            self.assertEqual(curl_json("-H", "Authorization: Bearer key-from-file-12", server.url + "/v1/models")[0], 401)
            for key in ("key-from-flag-789", "key-from-file-123", "key-from-env-456"):
                self.assertEqual(curl_json("-H", "Authorization: Bearer " + key, server.url + "/v1/models")[0], 200, key)
            self.assertEqual(curl("-H", "X-API-Key: key-from-env-456", server.url + "/metrics")[0], 200)
            self.assertEqual(curl(server.url + "/metrics")[0], 401)
            self.assertEqual(curl(server.url + "/")[0], 200, "the page itself is public; its API calls send the key")
        finally:
            self.assertEqual(server.stop(), 0)
            os.unlink(key_file)

    @unittest.skipUnless(BUNDLE_Q, "COSYVOICE_BUNDLE_Q (the tiny bundle with LLM variants) not given")
    def test_precision_runs_the_variant_and_a_bad_one_stops_the_start(self):
        server = Server(CLI, BUNDLE_Q, "--precision", "llm=int8", "--workers", "1")
        try:
            self.assertIn("precision llm=int8", server.output())
            status, _, body = curl("-F", "mode=zero_shot", "-F", "text=Hello.", "-F", f"prompt_audio=@{PROMPT}",
                                   "-F", "prompt_text=Front center.", "-F", "min_tokens=25", "-F", "max_tokens=25",
                                   "-F", "response_format=pcm", server.url + "/v1/audio/synthesize")
            self.assertEqual((status, len(body)), (200, 2 * 25 * SPT), body[:200])
        finally:
            self.assertEqual(server.stop(), 0)
        for bad, hint in ((["--precision", "int3"], "int3"), (["--precision", "flow=int4"], "flow"),
                          (["--provider", "nosuch"], "nosuch")):
            out = subprocess.run([CLI, "serve", "-m", BUNDLE_Q, "--port", "0", *bad], capture_output=True, text=True,
                                 timeout=120)
            self.assertNotEqual(out.returncode, 0, bad)
            self.assertIn(hint, out.stderr, bad)
            self.assertNotIn("listening on", out.stderr, bad)

    def test_public_bind_without_key_is_refused(self):
        out = subprocess.run([CLI, "serve", "-m", BUNDLE, "--host", "0.0.0.0", "--port", "0"], capture_output=True,
                             text=True, timeout=60)
        self.assertEqual(out.returncode, 2)
        for hint in ("--api-key", "--api-key-file", "COSYVOICE_API_KEY", "127.0.0.1"):
            self.assertIn(hint, out.stderr)


class StreamCacheLimit(unittest.TestCase):
    """--max-stream-cache-mb (docs/streaming.md §5.2): a streamed segment whose cache would pass it
    finishes with its flow recomputed - the whole audio, one warning in the log, counted in /metrics.
    The tiny model's 60-token fast stream holds about 5 MB, so 1 MiB is passed."""

    def test_a_segment_past_the_limit_completes_and_is_counted(self):
        server = Server(CLI, BUNDLE, "--workers", "1", "--max-stream-cache-mb", "1")
        try:
            status, _, _ = curl_json("-F", "name=v", "-F", "transcript=Front center.", "-F", f"audio=@{PROMPT}",
                                     server.url + "/v1/audio/voices")
            self.assertEqual(status, 201)
            status, _, body = speech(server.url, {"input": LONG_TEXT, "voice": "v", "response_format": "pcm",
                                                  "min_tokens": 60, "max_tokens": 60, "seed": 5,
                                                  "stream_mode": "fast"})
            self.assertEqual(status, 200, body[:300])
            self.assertEqual(len(body), 2 * 60 * SPT)
            self.assertGreaterEqual(metrics(server.url)["cosyvoice_stream_cache_fallbacks_total"], 1)
            time.sleep(0.2)
            self.assertIn("max_stream_cache", server.output())
        finally:
            self.assertEqual(server.stop(), 0)


class Limits(unittest.TestCase):
    """One worker, no queue: the second concurrent request is refused with 429 + Retry-After; a
    client that disconnects frees the worker; the deadline stops what runs too long."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server(CLI, BUNDLE, "--workers", "1", "--queue", "0", "--timeout", "6")
        status, _, _ = curl_json("-F", "name=v", "-F", "transcript=Front center.", "-F", f"audio=@{PROMPT}",
                                 cls.server.url + "/v1/audio/voices")
        assert status == 201

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0

    def long_request(self, tokens=200, sentences=8):
        text = " ".join(f"Sentence {i}." for i in range(sentences))
        body = json.dumps({"input": text, "voice": "v", "response_format": "pcm", "min_tokens": tokens,
                           "max_tokens": tokens}).encode()
        head = (f"POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n")
        return raw_request(self.server.port, head, body)

    def wait_idle(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if metrics(self.server.url)["cosyvoice_in_flight"] == 0:
                return True
            time.sleep(0.05)
        return False

    def first_chunk(self, sock):
        sock.settimeout(60)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        return data

    def test_queue_full_is_429_with_retry_after(self):
        s = self.long_request()
        self.first_chunk(s)  # the one worker is busy now
        status, headers, e = speech(self.server.url, {"input": "Hi.", "voice": "v"})
        e = json.loads(e)
        self.assertEqual((status, e["error"]["type"], e["error"]["code"]), (429, "rate_limit_error", "queue_full"))
        self.assertGreaterEqual(int(headers["retry-after"]), 1)
        s.close()
        self.assertTrue(self.wait_idle(10))
        self.assertGreaterEqual(metrics(self.server.url)['cosyvoice_rejected_total{reason="queue_full"}'], 1)

    def test_disconnect_cancels_within_a_chunk(self):
        s = self.long_request()
        self.first_chunk(s)
        t0 = time.time()
        s.close()
        # The whole request would run ~8 sentences; the worker must be free long before that.
        self.assertTrue(self.wait_idle(3), "the job kept running after the client left")
        self.assertLess(time.time() - t0, 3)
        self.assertGreaterEqual(metrics(self.server.url)['cosyvoice_rejected_total{reason="disconnect"}'], 1)

    def test_deadline(self):
        # Whole-file delivery: no audio is sent before the end, and the end is past the 6 s deadline.
        status, _, raw = speech(self.server.url, {"input": LONG_TEXT * 3, "voice": "v", "response_format": "wav",
                                                  "stream": False, "min_tokens": 400, "max_tokens": 400})
        if status == 504:
            self.assertEqual(json.loads(raw)["error"]["code"], "deadline_exceeded")
        else:  # the headers went out with the first audio: the stream is cut short instead
            self.assertEqual(status, 200)
            self.assertLess(len(raw), 44 + 2 * 24 * 400 * SPT)
        self.assertTrue(self.wait_idle(5))


class Lifecycle(unittest.TestCase):
    def test_sigterm_finishes_in_flight_work_then_exits_0(self):
        server = Server(CLI, BUNDLE, "--workers", "1")
        curl_json("-F", "name=v", "-F", "transcript=Front center.", "-F", f"audio=@{PROMPT}", server.url + "/v1/audio/voices")
        body = json.dumps({"input": LONG_TEXT, "voice": "v", "response_format": "pcm", "min_tokens": LONG_TOKENS,
                           "max_tokens": LONG_TOKENS}).encode()
        s = raw_request(server.port, f"POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                     f"Content-Length: {len(body)}\r\n\r\n", body)
        result = {}
        reader = threading.Thread(target=lambda: result.update(r=read_http_response(s)))
        reader.start()
        time.sleep(0.3)
        server.proc.send_signal(signal.SIGTERM)
        reader.join(120)
        status, _, audio, _, _ = result["r"]
        self.assertEqual((status, len(audio)), (200, 2 * LONG_TOKENS * SPT), "the in-flight request completed")
        self.assertEqual(server.proc.wait(60), 0)
        self.assertIn("shutting down", server.output())
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=2)
        server.log.close()

    def test_sigkill_during_upload_leaves_no_voice_and_a_sound_database(self):
        data = tempfile.mkdtemp(prefix="cosyvoice-kill-")
        try:
            server = Server(CLI, BUNDLE, data_dir=data)
            self.assertEqual(curl_json("-F", "name=kept", "-F", f"audio=@{PROMPT}", server.url + "/v1/audio/voices")[0], 201)
            # An upload cut off by SIGKILL halfway through its body.
            with open(PROMPT, "rb") as f:
                wav = f.read()
            boundary = "----cosyvoiceboundary"
            body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nhalf\r\n"
                    f"--{boundary}\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"p.wav\"\r\n"
                    f"Content-Type: audio/wav\r\n\r\n").encode() + wav + f"\r\n--{boundary}--\r\n".encode()
            s = raw_request(server.port, f"POST /v1/audio/voices HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
                                         f"boundary={boundary}\r\nContent-Length: {len(body)}\r\n\r\n",
                            body[: len(body) // 2])
            time.sleep(0.3)
            server.kill()  # SIGKILL
            s.close()
            # And one killed right after its voice was committed (201 sent): it must survive.
            server = Server(CLI, BUNDLE, data_dir=data)
            self.assertEqual(curl_json("-F", "name=committed", "-F", f"audio=@{PROMPT}",
                                       server.url + "/v1/audio/voices")[0], 201)
            server.kill()
            server = Server(CLI, BUNDLE, data_dir=data)
            names = [v["name"] for v in curl_json(server.url + "/v1/audio/voices")[2]["voices"]]
            self.assertEqual(names, ["kept", "committed"])
            status, _, body = speech(server.url, {"input": "Hi.", "voice": "committed", "response_format": "pcm",
                                                  "min_tokens": 25, "max_tokens": 25})
            self.assertEqual((status, len(body)), (200, 2 * 25 * SPT))
            self.assertEqual(server.stop(), 0)
            db = sqlite3.connect(os.path.join(data, "voices.sqlite3"))
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "wal")
            db.close()
        finally:
            shutil.rmtree(data, ignore_errors=True)

    def test_voice_from_another_bundle_is_refused(self):
        data = tempfile.mkdtemp(prefix="cosyvoice-foreign-")
        try:
            server = Server(CLI, BUNDLE, data_dir=data)
            self.assertEqual(curl_json("-F", "name=foreign", "-F", f"audio=@{PROMPT}", server.url + "/v1/audio/voices")[0], 201)
            self.assertEqual(server.stop(), 0)
            db = sqlite3.connect(os.path.join(data, "voices.sqlite3"))
            db.execute("UPDATE voices SET frontend_id = 'st:0000000000000000,cp:0000000000000000'")
            db.commit()
            db.close()
            server = Server(CLI, BUNDLE, data_dir=data)
            status, _, raw = speech(server.url, {"input": "Hi.", "voice": "foreign"})
            e = json.loads(raw)["error"]
            self.assertEqual(status, 400)
            self.assertIn("other frontend models", e["message"])
            self.assertEqual(server.stop(), 0)
        finally:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
