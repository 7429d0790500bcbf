"""The Python binding (python/cosyvoice, over libcosyvoice's C API) on the tiny model.

Needs the built library (`make build`: build/lib, or COSYVOICE_LIBRARY) and the tiny bundle
(`make tiny-model`, or COSYVOICE_TINY). Expected values come from the request (forced token counts:
one speech token is 960 samples at 24 kHz), from the CLI run on the same request, or from another
path through the binding - never from a stored earlier output.
"""
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
TINY = Path(os.environ.get("COSYVOICE_TINY", REPO / "models" / "tiny"))
BUNDLE = TINY / "bundle"
CLI = Path(os.environ.get("COSYVOICE_CLI", REPO / "build" / "bin" / "cosyvoice"))
PROMPT = "/usr/share/sounds/alsa/Front_Center.wav"
SOURCE = "/usr/share/sounds/alsa/Rear_Left.wav"
SAMPLES_PER_TOKEN = 960
LONG_TEXT = "甲" * 69 + "。" + "乙" * 29 + "。"  # split into two segments (docs/cli.md, normalize)

if not (BUNDLE / "config.json").is_file():
    pytest.fail(f"{BUNDLE}: no tiny bundle; run `make tiny-model` (or set COSYVOICE_TINY)", pytrace=False)

import cosyvoice  # noqa: E402  (after the check: importing loads libcosyvoice)


@pytest.fixture(scope="module")
def model():
    # One thread: the pool is process-wide and sized by the first model; the CLI comparison uses 1 too.
    return cosyvoice.Model(BUNDLE, threads=1)


@pytest.fixture(scope="module")
def voice(model):
    return model.create_voice(PROMPT, "Front center.")


@pytest.fixture()
def session(model):
    with model.session() as s:
        yield s


def fixed(tokens, seed=1, **extra):
    return dict(min_tokens=tokens, max_tokens=tokens, seed=seed, **extra)


def test_versions_and_providers():
    assert cosyvoice.version() == cosyvoice.__version__
    assert cosyvoice.ort_version().startswith("1.")
    assert "cpu" in cosyvoice.available_providers()


def test_model_info(model):
    assert model.sample_rate == 24000
    assert model.info.mel_bins == 80
    assert model.info.bundle_dir == str(BUNDLE)
    assert "cpu" in model.info.providers
    assert model.info.variants == {"flow": "base", "frontend": "base", "hift": "base", "llm": "base"}


def test_precision_and_provider_options():
    # The quantized tiny bundle (`make tiny-model`): its int8 LLM variant runs when asked for (the
    # flow its float32 variant fp32-panel, which the default fp32 takes).
    bundle_q = TINY / "bundle-q"
    m = cosyvoice.Model(bundle_q, threads=1, precision="llm=int8",
                        provider_options={"webgpu": {"preferredLayout": "NHWC"}})
    assert m.info.variants["llm"] == "int8" and m.info.variants["flow"] == "fp32-panel"
    with m.session() as s:
        v = m.create_voice(PROMPT, "Front center.")
        assert s.synthesize("Hello world.", v, **fixed(20)).size == 20 * SAMPLES_PER_TOKEN
    with pytest.raises(cosyvoice.InvalidArgumentError, match="precision 'int3'"):
        cosyvoice.Model(BUNDLE, precision="int3")
    with pytest.raises(cosyvoice.InvalidArgumentError, match="preferredLayout: expected one of"):
        cosyvoice.Model(BUNDLE, provider_options={"webgpu": {"preferredLayout": "NCHW4"}})


def test_stream_cache_reaches_the_model():
    # float16 keys/values (docs/streaming.md §5.1): a fast stream differs from float32's only by their
    # rounding (the golden test bounds it against the reference), and an unknown precision is refused
    with pytest.raises(cosyvoice.InvalidArgumentError, match="stream_cache must be fp32 or fp16"):
        cosyvoice.Model(BUNDLE, stream_cache="fp8")
    out = {}
    for cache in ("fp32", "fp16"):
        m = cosyvoice.Model(BUNDLE, threads=1, stream_cache=cache)
        v = m.create_voice(PROMPT, "Front center.")
        with m.session() as s:
            out[cache] = s.synthesize("Hello world.", v, stream=True, stream_mode="fast", **fixed(60))
    assert out["fp32"].size == out["fp16"].size == 60 * SAMPLES_PER_TOKEN
    diff = float(np.abs(out["fp32"] - out["fp16"]).max())
    assert 0.0 < diff < 1e-3, diff
    with m.session() as s:
        with pytest.raises(ValueError, match="stream_mode 'slow'"):
            s.synthesize("Hello world.", v, stream=True, stream_mode="slow")


def test_max_stream_cache_reaches_the_model():
    # past the limit a segment finishes with its flow recomputed (docs/streaming.md §5.2): the tiny
    # model's fast stream of 60 tokens holds about 5 MB, so 1 MiB switches it, and the audio stays
    # that of the cache (the golden test bounds it against the reference); a negative size is refused
    with pytest.raises(cosyvoice.InvalidArgumentError, match="max_stream_cache_mb must be 0"):
        cosyvoice.Model(BUNDLE, max_stream_cache_mb=-1)
    out, warnings = {}, {}
    for limit in (0, 1):
        m = cosyvoice.Model(BUNDLE, threads=1, max_stream_cache_mb=limit)
        v = m.create_voice(PROMPT, "Front center.")
        lines = []
        cosyvoice.set_log_handler(lambda level, message: lines.append((level, message)))
        try:
            with m.session() as s:
                out[limit] = s.synthesize("Hello world.", v, stream=True, stream_mode="fast", **fixed(60))
        finally:
            cosyvoice.set_log_handler(None)
        warnings[limit] = [msg for level, msg in lines if level == "warning" and "max_stream_cache" in msg]
    assert warnings[0] == [] and len(warnings[1]) == 1, warnings
    assert "limit of 1 MiB" in warnings[1][0]
    assert out[0].size == out[1].size == 60 * SAMPLES_PER_TOKEN
    assert float(np.abs(out[0] - out[1]).max()) < 1e-3


@pytest.mark.parametrize("mode", ["zero_shot", "cross_lingual", "instruct2", "vc"])
def test_every_mode_offline(model, voice, session, mode):
    kwargs = {"instruct": "请用四川话说这句话。"} if mode == "instruct2" else {}
    if mode == "vc":
        kwargs = {"source": SOURCE}
    text = "" if mode == "vc" else "你好，世界。"
    a = session.synthesize(text, voice, mode=mode, **kwargs, **fixed(25))
    b = session.synthesize(text, voice, mode=mode, **kwargs, **fixed(25))
    assert a.dtype == np.float32 and a.ndim == 1 and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)  # same seed, reused session
    stats = session.last_stats
    assert stats.audio_seconds == pytest.approx(a.size / 24000, abs=1e-9)
    if mode == "vc":  # the length follows the source, 25 tokens per second of it
        assert abs(a.size / 24000 - 1.3127) < 0.1
    else:
        assert stats.speech_tokens == 25 and a.size == 25 * SAMPLES_PER_TOKEN
    # not streamed: no first-chunk breakdown
    assert stats.first_chunk_tokens_seconds == stats.first_chunk_flow_seconds == 0


@pytest.mark.parametrize("mode", ["zero_shot", "cross_lingual", "instruct2"])
def test_every_mode_streaming(voice, session, mode):
    kwargs = {"instruct": "请用四川话说这句话。"} if mode == "instruct2" else {}
    chunks = list(session.stream("Hello world.", voice, mode=mode, **kwargs, **fixed(60)))
    assert len(chunks) > 1
    assert all(c.sample_rate == 24000 and c.samples.dtype == np.float32 for c in chunks)
    assert [c.segment_done for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert sum(c.samples.size for c in chunks) == 60 * SAMPLES_PER_TOKEN
    stats = session.last_stats
    assert stats.speech_tokens == 60
    # the first audio's wait, split into the tokens' arrival and the first chunk's rendering
    assert stats.first_chunk_tokens_seconds >= stats.llm_prefill_seconds > 0
    assert stats.first_chunk_flow_seconds > 0 and stats.first_chunk_vocoder_seconds > 0
    assert (stats.first_chunk_tokens_seconds + stats.first_chunk_flow_seconds + stats.first_chunk_vocoder_seconds
            <= stats.first_audio_seconds + 1e-9)


def test_matches_the_cli(tmp_path, voice, session):
    """The binding passes the request and options through: the CLI gives the same samples."""
    options = fixed(30, seed=7, top_k=5, cfg_rate=0.5, n_timesteps=4)
    ours = session.synthesize("Hello world.", voice, **options)
    out = tmp_path / "cli.wav"
    subprocess.run([str(CLI), "tts", "-m", str(BUNDLE), "--threads", "1", "--prompt-wav", PROMPT, "--prompt-text",
                    "Front center.", "-t", "Hello world.", "--seed", "7", "--top-k", "5", "--cfg", "0.5", "--steps",
                    "4", "--min-tokens", "30", "--max-tokens", "30", "--float", "-o", str(out)], check=True,
                   capture_output=True)
    theirs, rate = cosyvoice.read_audio(out)
    assert rate == 24000
    np.testing.assert_array_equal(ours, theirs)


def test_explicit_zero_is_not_the_default(voice, session):
    default = session.synthesize("Hello world.", voice, **fixed(20))
    same = session.synthesize("Hello world.", voice, cfg_rate=0.7, **fixed(20))  # the bundle's value, set
    off = session.synthesize("Hello world.", voice, cfg_rate=0.0, **fixed(20))  # zero: no guidance
    np.testing.assert_array_equal(default, same)
    assert not np.array_equal(default, off)


def test_on_chunk_sees_the_output(voice, session):
    seen = []
    audio = session.synthesize(LONG_TEXT, voice, on_chunk=seen.append, **fixed(20))
    assert [c.segment for c in seen] == [0, 1] and all(c.num_segments == 2 for c in seen)
    np.testing.assert_array_equal(np.concatenate([c.samples for c in seen]), audio)


def test_on_chunk_cancels(voice, session):
    with pytest.raises(cosyvoice.CancelledError, match="cancel"):
        session.synthesize("Hello world.", voice, stream=True, on_chunk=lambda chunk: False, **fixed(60))

    def boom(chunk):
        raise KeyError("from the handler")

    with pytest.raises(KeyError, match="from the handler"):  # the handler's own exception, not CancelledError
        session.synthesize("Hello world.", voice, stream=True, on_chunk=boom, **fixed(60))
    assert session.synthesize("Hi.", voice, **fixed(10)).size == 10 * SAMPLES_PER_TOKEN  # still usable


def test_leaving_a_stream_early_cancels_it(voice, session):
    before = threading.active_count()
    stream = session.stream("Hello world.", voice, **fixed(60))
    first = next(stream)
    assert first.samples.size > 0
    stream.close()  # what `break` does
    assert threading.active_count() == before  # the worker has ended
    assert session.synthesize("Hi.", voice, **fixed(10)).size == 10 * SAMPLES_PER_TOKEN


def test_stream_errors_raise_from_the_iterator(voice, session):
    with pytest.raises(cosyvoice.InvalidArgumentError, match="text is empty"):
        list(session.stream("   ", voice, mode="cross_lingual"))


def test_cancel_from_another_thread(voice, session):
    first_chunk, cancelled = threading.Event(), threading.Event()
    result = {}

    def wait_for_cancel(chunk):
        first_chunk.set()
        cancelled.wait(10)

    def run():
        try:
            session.synthesize("Hello world.", voice, stream=True, on_chunk=wait_for_cancel, **fixed(60))
        except cosyvoice.Error as e:
            result["error"] = e

    worker = threading.Thread(target=run)
    worker.start()
    assert first_chunk.wait(60)
    session.cancel()
    cancelled.set()
    worker.join()
    assert isinstance(result.get("error"), cosyvoice.CancelledError)


def test_concurrent_sessions_equal_their_runs_alone(model, voice):
    texts = ["Hello world.", "你好，世界。"]
    sessions = [model.session() for _ in texts]
    alone = [s.synthesize(t, voice, **fixed(25, seed=11)) for s, t in zip(sessions, texts)]
    together = [None, None]

    def run(i):
        together[i] = sessions[i].synthesize(texts[i], voice, **fixed(25, seed=11))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(alone, together):
        np.testing.assert_array_equal(a, b)


def test_voices(tmp_path, model, voice, session):
    assert voice.transcript == "Front center." and voice.source == "Front_Center.wav"
    assert 1.0 < voice.prompt_seconds < 2.0 and voice.num_prompt_tokens > 0
    path = tmp_path / "front.voice"
    voice.save(path)
    loaded = cosyvoice.Voice.load(path)
    samples, rate = cosyvoice.read_audio(PROMPT)
    from_array = model.create_voice(samples, "Front center.", sample_rate=rate)
    reference = session.synthesize("Hello world.", voice, **fixed(20))
    for other in (loaded, from_array):  # a file round trip and numpy input give the same voice
        np.testing.assert_array_equal(session.synthesize("Hello world.", other, **fixed(20)), reference)


def test_write_wav(tmp_path, voice, session):
    audio = session.synthesize("Hello world.", voice, **fixed(10))
    path = tmp_path / "out.wav"
    cosyvoice.write_wav(path, audio, 24000, float_samples=True)
    back, rate = cosyvoice.read_audio(path)
    np.testing.assert_array_equal(back, audio)
    with pytest.raises(cosyvoice.InvalidAudioError, match="not finite"):
        cosyvoice.write_wav(tmp_path / "nan.wav", np.array([0.0, np.nan], dtype=np.float32), 24000)
    assert not (tmp_path / "nan.wav").exists()


def test_errors(tmp_path, model, voice, session):
    with pytest.raises(cosyvoice.BundleError, match="no-such-bundle") as e:
        cosyvoice.Model(tmp_path / "no-such-bundle")
    assert e.value.status == 4 and e.value.code == "bundle" and isinstance(e.value, cosyvoice.Error)
    with pytest.raises(cosyvoice.InvalidArgumentError, match="nope.voice: cannot open voice file"):
        cosyvoice.Voice.load(tmp_path / "nope.voice")
    (tmp_path / "garbage.voice").write_bytes(b"not a voice file at all, no")
    with pytest.raises(ValueError, match="garbage.voice: not a usable voice file"):  # also a ValueError
        cosyvoice.Voice.load(tmp_path / "garbage.voice")
    with pytest.raises(cosyvoice.InvalidAudioError, match="silent"):
        model.create_voice(np.zeros(16000, dtype=np.float32), sample_rate=16000)
    with pytest.raises(ValueError, match="1-D"):
        model.create_voice(np.zeros((2, 16000), dtype=np.float32), sample_rate=16000)
    with pytest.raises(cosyvoice.InvalidArgumentError, match="top_p"):
        session.synthesize("Hello.", voice, top_p=0.0)
    with pytest.raises(cosyvoice.InvalidArgumentError, match="speed"):
        session.synthesize("Hello.", voice, stream=True, speed=1.5)
    with pytest.raises(TypeError, match="unknown synthesis option 'topk'"):
        session.synthesize("Hello.", voice, topk=3)
    with pytest.raises(ValueError, match="mode 'sing'"):
        session.synthesize("Hello.", voice, mode="sing")
    no_transcript = model.create_voice(PROMPT)
    with pytest.raises(cosyvoice.InvalidArgumentError, match="transcript"):
        session.synthesize("Hello.", no_transcript, mode="zero_shot")
    closed = model.session()
    closed.close()
    with pytest.raises(ValueError, match="Session is closed"):
        closed.synthesize("Hello.", voice)


def test_log_handler(model):
    lines = []
    cosyvoice.set_log_handler(lambda level, message: lines.append((level, message)))
    try:
        other = cosyvoice.Model(BUNDLE, providers=["cuda", "cpu"])
    finally:
        cosyvoice.set_log_handler(None)
    if "cuda" not in other.info.providers:  # this run cannot use CUDA, and the library said so
        assert any(level == "warning" and "cuda" in message for level, message in lines), lines


def test_python_example_runs(tmp_path):
    out = tmp_path / "example.wav"
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    r = subprocess.run([sys.executable, str(REPO / "examples" / "synthesize.py"), str(BUNDLE), PROMPT,
                        "Front center.", str(out)], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout and out.stat().st_size > 44
