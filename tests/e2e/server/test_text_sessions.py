"""End-to-end tests of text-in streaming over HTTP (docs/server.md "Text-in streaming"): a client
opens a session, sends its text in pieces while reading the speech from a second connection, and
hears audio before its text is complete; every bound of a session (count, idle text, one reader,
the text limit) and every error answer.

    COSYVOICE_CLI=build/bin/cosyvoice COSYVOICE_BUNDLE=models/tiny/bundle python3 test_text_sessions.py
"""
import http.client
import json
import os
import re
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from server_util import Server, curl, curl_json  # noqa: E402

CLI = os.environ.get("COSYVOICE_CLI", "build/bin/cosyvoice")
BUNDLE = os.environ.get("COSYVOICE_BUNDLE", "models/tiny/bundle")
PROMPT = os.environ.get("COSYVOICE_PROMPT", "/usr/share/sounds/alsa/Front_Center.wav")
SESSIONS = "/v1/audio/speech/sessions"
# An agent's reply, as it would arrive from an LLM a few words at a time.
PIECES = ["Hello there, ", "this reply is ", "still being written ", "while the first ", "words are already ",
          "spoken aloud, ", "one piece ", "at a time, ", "by a language ", "model that ", "thinks as ", "it talks."]


def post_json(url, body):
    return curl_json("-H", "Content-Type: application/json", "--data-binary", "@-", url, data=json.dumps(body).encode())


class AudioReader(threading.Thread):
    """Reads a session's audio on its own connection; notes when the first bytes arrived."""

    def __init__(self, port, path):
        super().__init__(daemon=True)
        self.port, self.path = port, path
        self.first_audio = threading.Event()
        self.status, self.headers, self.body, self.error = None, {}, b"", None

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.request("GET", self.path)
            resp = conn.getresponse()  # the status line is sent with the first audio
            self.status, self.headers = resp.status, {k.lower(): v for k, v in resp.getheaders()}
            while True:
                block = resp.read1(65536) if hasattr(resp, "read1") else resp.read(4096)
                if not block:
                    break
                self.body += block
                self.first_audio.set()
        except Exception as e:  # reported by the test
            self.error = e
        finally:
            conn.close()
            self.first_audio.set()


class TextSessions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(CLI, BUNDLE, "--workers", "1", "--max-text-sessions", "2", "--text-idle-timeout", "3")
        cls.url = cls.server.url
        status, _, _ = curl_json("-F", "name=front", "-F", "transcript=Front center.", "-F", f"audio=@{PROMPT}",
                                 cls.url + "/v1/audio/voices")
        assert status == 201

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0, cls.server.output()[-3000:]

    def open(self, **fields):
        body = {"voice": "front", "response_format": "pcm", "seed": 7}
        body.update(fields)
        status, _, s = post_json(self.url + SESSIONS, body)
        self.assertEqual(status, 201, s)
        return s

    def send(self, session, **fields):
        return post_json(self.url + session["text_url"], fields)

    def test_speech_starts_before_the_text_ends(self):
        s = self.open(input=PIECES[0])
        self.assertRegex(s["id"], r"^[0-9a-f]{32}$")
        self.assertEqual((s["object"], s["audio_url"]), ("speech.session", f"{SESSIONS}/{s['id']}/audio"))
        reader = AudioReader(self.server.port, s["audio_url"])
        reader.start()
        sent = len(PIECES[0])
        for piece in PIECES[1:]:
            status, _, r = self.send(s, text=piece)
            sent += len(piece)
            self.assertEqual((status, r["received_chars"], r["ended"]), (200, sent, False), r)
            time.sleep(0.05)
        # The text is not ended: audio must come anyway, from the text so far.
        self.assertTrue(reader.first_audio.wait(120), "no audio within 120 s")
        self.assertIsNone(reader.error)
        self.assertGreater(len(reader.body), 0, "the speech waited for the end of the text")
        status, _, r = self.send(s, end=True)
        self.assertEqual((status, r["ended"]), (200, True))
        reader.join(120)
        self.assertFalse(reader.is_alive())
        self.assertEqual(reader.status, 200)
        self.assertEqual(reader.headers["x-sample-rate"], "24000")
        self.assertTrue(reader.headers["content-type"].startswith("audio/pcm"))
        self.assertEqual(len(reader.body) % 2, 0)
        self.assertGreater(len(reader.body), 2 * 24000 // 2)  # more than half a second of speech
        # one reader only, and nothing after the end
        status, _, e = curl_json(self.url + s["audio_url"])
        self.assertIn((status, e["error"]["code"]), ((409, "audio_taken"), (404, "session_not_found")))
        status, _, e = self.send(s, text="More.")
        self.assertIn((status, e["error"]["code"]), ((409, "text_ended"), (404, "session_not_found")))

    def test_stalled_text_counts_as_ended_after_the_idle_time(self):
        s = self.open(input="Hello there, this text never gets its end. ")
        t0 = time.time()
        status, headers, body = curl(self.url + s["audio_url"])
        self.assertEqual(status, 200)
        self.assertGreater(len(body), 0)
        self.assertGreaterEqual(time.time() - t0, 3 - 0.5)  # the idle time passed before the speech ended
        self.assertIn("no text for 3 s", self.server.output())

    def test_delete_cancels_and_frees_the_slot(self):
        s = self.open(input="Hello. ")
        status, _, _ = curl("-X", "DELETE", self.url + f"{SESSIONS}/{s['id']}")
        self.assertEqual(status, 204)
        status, _, e = self.send(s, text="Again.")
        self.assertEqual((status, e["error"]["code"]), (404, "session_not_found"))
        status, _, e = curl_json("-X", "DELETE", self.url + f"{SESSIONS}/{s['id']}")
        self.assertEqual(status, 404)

    def test_open_sessions_are_bounded(self):
        a, b = self.open(), self.open()
        status, _, e = post_json(self.url + SESSIONS, {"voice": "front", "response_format": "pcm"})
        self.assertEqual((status, e["error"]["code"]), (429, "too_many_sessions"))
        self.assertIn("--max-text-sessions", e["error"]["message"])
        for s in (a, b):
            self.assertEqual(curl("-X", "DELETE", self.url + f"{SESSIONS}/{s['id']}")[0], 204)

    def test_bad_requests_name_the_field(self):
        for body, code, param in (
                ({"voice": "front", "response_format": "flac"}, 400, "response_format"),
                ({"voice": "front", "mode": "cross_lingual"}, 400, "mode"),
                ({"voice": "front", "speed": 1.5}, 400, "speed"),
                ({"voice": "nobody"}, 404, "voice"),
                ({"response_format": "pcm"}, 400, "voice")):
            status, _, e = post_json(self.url + SESSIONS, body)
            self.assertEqual((status, e["error"]["param"]), (code, param), (body, e))
        s = self.open()
        for fields, param in (({"text": 5}, "text"), ({"end": "yes"}, "end"), ({"txt": "Hi."}, "txt")):
            status, _, e = self.send(s, **fields)
            self.assertEqual((status, e["error"]["param"]), (400, param), (fields, e))
        status, _, e = self.send(s, text="x" * 5000)  # over the server's 4096-character text limit
        self.assertEqual((status, e["error"]["code"]), (400, "text_too_long"))
        status, _, e = curl_json("-X", "POST", "--data-binary", "not json", self.url + s["text_url"])
        self.assertEqual((status, e["error"]["code"]), (400, "invalid_json"))
        status, _, e = post_json(self.url + f"{SESSIONS}/{'0' * 32}/text", {"text": "Hi."})
        self.assertEqual((status, e["error"]["code"]), (404, "session_not_found"))
        status, headers, e = curl_json(self.url + s["text_url"])  # GET on the text route
        self.assertEqual((status, headers["allow"]), (405, "POST"))
        self.assertEqual(curl("-X", "DELETE", self.url + f"{SESSIONS}/{s['id']}")[0], 204)


if __name__ == "__main__":
    unittest.main(verbosity=2)
