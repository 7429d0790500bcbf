"""The ``goldens`` command: layout (docs/goldens.md), shapes, coverage, determinism, the bundle
checks (flow noise, tokenizer, HiFT noise parameters) and the manifest hash."""

import hashlib
import json
import os
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from cosyvoice_export import goldens as G
from cosyvoice_export import noise
from cosyvoice_export import reference as R
from cosyvoice_export.frontend.tokenizer import CosyVoice3Tokenizer

PROMPT_FILES = ["prompt.wav", "transcript.txt", "x16.npy", "x24.npy", "fbank.npy", "whisper.npy", "mel.npy",
                "speech_tokens_raw.npy", "embedding.npy", "speech_tokens.npy", "prompt_mel.npy"]


def make_bundle(tiny_dir: Path, dst: Path, skip: int = noise.HIFT_NOISE_SKIP) -> Path:
    """The parts of a bundle (docs/bundle.md) the reference reads, written from the checkpoint."""
    (dst / "tokenizer").mkdir(parents=True)
    (dst / "flow").mkdir()
    blank = tiny_dir / "CosyVoice-BlankEN"
    shutil.copyfile(blank / "vocab.json", dst / "tokenizer" / "vocab.json")
    shutil.copyfile(blank / "merges.txt", dst / "tokenizer" / "merges.txt")
    tok = CosyVoice3Tokenizer(blank)
    added = [{"id": t.id, "content": t.content, "special": t.special}
             for t in sorted(tok.added.values(), key=lambda t: t.id)]
    (dst / "tokenizer" / "added_tokens.json").write_text(json.dumps(added, ensure_ascii=False), encoding="utf-8")
    np.save(dst / "flow" / "flow_noise.npy", noise.flow_noise()[0].numpy())
    cfg = {"format": "cosyvoice-ort-bundle", "format_version": "1.0",
           "tokenizer": {"vocab": "tokenizer/vocab.json", "merges": "tokenizer/merges.txt",
                         "added_tokens": "tokenizer/added_tokens.json", "endofprompt_id": 151646},
           "flow": {"noise": "flow/flow_noise.npy"},
           "hift": {"source_noise": {"generator": "mt19937", "seed": 0, "skip": skip}}}
    (dst / "config.json").write_text(json.dumps(cfg, indent=1), encoding="utf-8")
    return dst


@pytest.fixture(scope="session")
def bundle(tiny_dir, tmp_path_factory):
    return make_bundle(tiny_dir, tmp_path_factory.mktemp("bundle") / "b")


@pytest.fixture(scope="session")
def goldens(tiny_dir, bundle, tmp_path_factory):
    from cosyvoice_export.__main__ import main
    out = tmp_path_factory.mktemp("goldens") / "g"
    assert main(["goldens", "--checkpoint", str(tiny_dir), "--bundle", str(bundle), "--out", str(out)]) == 0
    return out


def _load(d: Path, name: str):
    return np.load(d / name, allow_pickle=False)


def test_manifest(goldens, bundle):
    m = json.loads((goldens / "manifest.json").read_text(encoding="utf-8"))
    assert m["format"] == "cosyvoice-ort-goldens" and m["format_version"] == "1.0"
    assert m["bundle"]["config_sha256"] == hashlib.sha256((bundle / "config.json").read_bytes()).hexdigest()
    assert m["hift_source_noise"] == {"generator": "mt19937", "seed": 0, "skip": noise.HIFT_NOISE_SKIP}
    assert [p["name"] for p in m["prompts"]] == [p["name"] for p in G.PROMPTS]
    assert [c["name"] for c in m["cases"]] == [c["name"] for c in G.CASES + G.BISTREAM_CASES]
    for p in m["prompts"]:
        assert (goldens / p["dir"]).is_dir()
    for c in m["cases"]:
        assert (goldens / c["dir"] / "case.json").is_file()


def test_prompt_layout(goldens):
    m = json.loads((goldens / "manifest.json").read_text(encoding="utf-8"))
    rates = set()
    for p in m["prompts"]:
        d = goldens / p["dir"]
        assert sorted(os.listdir(d)) == sorted(PROMPT_FILES)
        x16, x24 = _load(d, "x16.npy"), _load(d, "x24.npy")
        K = p["K"]
        assert _load(d, "whisper.npy").shape == (128, x16.shape[0] // 160)
        assert _load(d, "fbank.npy").shape == (1 + (x16.shape[0] - 400) // 160, 80)
        mel = _load(d, "mel.npy")
        assert mel.shape == (x24.shape[0] // 480, 80)
        raw, tok = _load(d, "speech_tokens_raw.npy"), _load(d, "speech_tokens.npy")
        assert raw.dtype == tok.dtype == np.int32 and K == min(mel.shape[0] // 2, raw.shape[0])
        assert np.array_equal(tok, raw[:K]) and np.array_equal(_load(d, "prompt_mel.npy"), mel[:2 * K])
        assert _load(d, "embedding.npy").shape == (192,)
        assert (d / "transcript.txt").read_text(encoding="utf-8") == p["transcript"]
        rates.add(p["sample_rate"])
    assert rates == {48000, 22050, 16000}


def test_case_files_and_shapes(goldens, tiny_dir):
    tok = CosyVoice3Tokenizer(tiny_dir / "CosyVoice-BlankEN")
    m = json.loads((goldens / "manifest.json").read_text(encoding="utf-8"))
    prompts = {p["name"]: p for p in m["prompts"]}
    for c in m["cases"]:
        if c.get("bistream"):
            continue  # text-in streaming cases: test_bistream_case_files
        d = goldens / c["dir"]
        info = json.loads((d / "case.json").read_text(encoding="utf-8"))
        K = prompts[info["prompt"]]["K"]
        parts = []
        for s in info["segments"]:
            i = s["index"]
            for f in s["files"]:
                assert (d / f).is_file(), f
            n = s["n_flow_tokens"]
            tokens, flow_tokens = _load(d, f"seg{i}_tokens.npy"), _load(d, f"seg{i}_flow_tokens.npy")
            assert tokens.dtype == flow_tokens.dtype == np.int32 and flow_tokens.shape == (n,)
            assert _load(d, f"seg{i}_mu.npy").shape == (80, 2 * (K + n))
            if info["mode"] != "vc":
                text_ids, prompt_ids = _load(d, f"seg{i}_text_ids.npy"), _load(d, f"seg{i}_prompt_ids.npy")
                assert text_ids.tolist() == tok.encode(s["tts_text"])
                assert prompt_ids.tolist() == (tok.encode(s["prompt_text"]) if s["prompt_text"] else [])
                S0 = 2 + len(prompt_ids) + len(text_ids) + s["prompt_speech_tokens"]
                assert _load(d, f"seg{i}_lm_input.npy").shape[0] == S0 == s["lm_positions"]
                logits = _load(d, f"seg{i}_logits.npy")
                assert logits.dtype == np.float32 and logits.shape == (s["llm_steps"], 6761)
                assert s["llm_steps"] == len(tokens) + (1 if s["stop_token"] is not None else 0)
                assert s["min_len"] <= len(tokens) <= s["max_len"] and (tokens < 6561).all()
                assert list(text_ids).count(151646) + list(prompt_ids).count(151646) == 1
            if not info["options"]["stream"]:
                frames = s.get("mel_speed_frames", 2 * n)
                assert _load(d, f"seg{i}_mel.npy").shape == (80, 2 * n)
                assert _load(d, f"seg{i}_f0.npy").shape == (frames,)
                assert s["samples"] == 480 * frames
                if (d / f"seg{i}_harmonics.npy").exists():
                    assert _load(d, f"seg{i}_harmonics.npy").shape == (480 * frames, 9)
                    assert _load(d, f"seg{i}_real.npy").shape == _load(d, f"seg{i}_imag.npy").shape == \
                        (9, 120 * frames + 1)
            w = _load(d, f"seg{i}_wav.npy")
            assert w.shape == (s["samples"],) and np.abs(w).max() <= 0.99
            parts.append(w)
        wav = _load(d, "wav.npy")
        assert np.array_equal(wav, np.concatenate(parts)) and wav.shape == (info["samples"],)
        with wave.open(str(d / "out.wav")) as wf:
            assert wf.getframerate() == 24000 and wf.getsampwidth() == 2
            assert np.array_equal(np.frombuffer(wf.readframes(wf.getnframes()), "<i2"), R.to_pcm16(wav))
        if info["options"]["stream"]:
            ch = json.loads((d / "chunks.json").read_text(encoding="utf-8"))
            n = info["segments"][0]["n_flow_tokens"]
            from cosyvoice_export import streaming  # the "fast" case is emitted per attention chunk
            sched = streaming.stream_plan(n, ch["prompt_tokens"], ch.get("stream_schedule", "upstream"))
            assert [(c["offset"], c["token_end"], c["final"]) for c in ch["chunks"]] == \
                [(c["offset"], c["token_end"], c["final"]) for c in sched]
            got = [_load(d, f"chunk{c['index']}_wav.npy") for c in ch["chunks"]]
            assert np.array_equal(np.concatenate(got), wav)
            for c in ch["chunks"]:
                assert _load(d, f"chunk{c['index']}_mel.npy").shape == (80, c["mel_frames"])


def test_case_coverage(goldens):
    infos = [json.loads((goldens / "cases" / c["name"] / "case.json").read_text(encoding="utf-8")) for c in G.CASES]
    assert {i["mode"] for i in infos} == set(R.MODES)
    assert any(len(i["segments"]) >= 2 for i in infos)
    assert any(i["chunks"] is not None and i["chunks"] >= 3 for i in infos)
    assert any(i["options"]["speed"] != 1.0 for i in infos)
    same = {}
    for i in infos:
        same.setdefault((i["mode"], i["text"], i["prompt"]), set()).add(i["seed"])
    assert any(len(v) >= 2 for v in same.values())
    texts = " ".join(i["text"] or "" for i in infos)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in texts) and "Hello" in texts
    assert any(any(ch.isdigit() for ch in (i["text"] or "")) and i["normalized_segments"] != [i["text"]]
               for i in infos)
    # every LLM case is non-trivial
    for i in infos:
        for s in i["segments"]:
            assert s["n_tokens"] >= 10


def test_goldens_deterministic(goldens, tiny_dir, bundle, tmp_path):
    """A second run (a subset of cases, same prompts) gives byte-identical files."""
    out = tmp_path / "again"
    subset = ["zero_shot_en", "vc", "zero_shot_stream"]
    G.generate(tiny_dir, bundle, out, cases=subset, log=lambda s: None)
    files = [p.relative_to(out) for p in out.rglob("*") if p.is_file() and p.name != "manifest.json"]
    assert len(files) > 40
    for f in files:
        assert (goldens / f).read_bytes() == (out / f).read_bytes(), f


def test_bundle_checks(tiny_dir, bundle, tmp_path):
    ref = R.ReferencePipeline(tiny_dir, bundle, log=None, components=("flow",))
    assert ref.bundle_config_sha256 == hashlib.sha256((bundle / "config.json").read_bytes()).hexdigest()
    assert ref.tokenizer.encode("<|endofprompt|>[breath]") == [151646, 151647]
    # HiFT noise parameters come from the bundle
    other = make_bundle(tiny_dir, tmp_path / "skip", skip=1234)
    assert R.ReferencePipeline(tiny_dir, other, log=None, components=("flow",)).hift_noise.skip == 1234
    # a different flow noise is refused
    bad = tmp_path / "noise"
    shutil.copytree(bundle, bad)
    z = np.load(bad / "flow" / "flow_noise.npy")
    z[3, 7] += 1e-3
    np.save(bad / "flow" / "flow_noise.npy", z)
    with pytest.raises(R.ReferenceError, match="flow noise"):
        R.ReferencePipeline(tiny_dir, bad, log=None, components=("flow",))
    # a different added token is refused
    bad2 = tmp_path / "tok"
    shutil.copytree(bundle, bad2)
    added = json.loads((bad2 / "tokenizer" / "added_tokens.json").read_text(encoding="utf-8"))
    added[5]["id"] += 1000
    (bad2 / "tokenizer" / "added_tokens.json").write_text(json.dumps(added), encoding="utf-8")
    with pytest.raises(R.ReferenceError, match="added tokens"):
        R.ReferencePipeline(tiny_dir, bad2, log=None, components=("flow",))
    with pytest.raises(R.ReferenceError, match="not a model bundle"):
        R.ReferencePipeline(tiny_dir, tmp_path, log=None, components=("flow",))


def test_exported_tiny_bundle_matches_checkpoint():
    """With `make tiny-model` done, the exporter's bundle passes the reference's identity checks."""
    tiny = os.environ.get("COSYVOICE_TINY")
    if not tiny or not (Path(tiny) / "bundle" / "config.json").is_file():
        pytest.skip("no exported tiny bundle (COSYVOICE_TINY/bundle)")
    ref = R.ReferencePipeline(Path(tiny) / "checkpoint", Path(tiny) / "bundle", log=None, components=("flow",))
    assert ref.bundle_config is not None


def test_bistream_case_files(goldens):
    """Text-in streaming cases: pieces, every sampled id with its margin and logit peak, the emitted
    tokens (the sampled ids below the speech vocabulary), the offline waveform."""
    m = json.loads((goldens / "manifest.json").read_text(encoding="utf-8"))
    cases = [c for c in m["cases"] if c.get("bistream")]
    assert len(cases) == len(G.BISTREAM_CASES)
    for c in cases:
        d = goldens / c["dir"]
        info = json.loads((d / "case.json").read_text(encoding="utf-8"))
        for i in range(len(info["pieces"])):
            assert (d / f"piece{i}_ids.npy").is_file()
        sampled, tokens = _load(d, "sampled.npy"), _load(d, "tokens.npy")
        assert _load(d, "sampling_margin.npy").shape == _load(d, "logit_peak.npy").shape == sampled.shape
        assert np.array_equal(sampled[sampled < 6561], tokens) and info["n_tokens"] == tokens.shape[0]
        assert _load(d, "wav.npy").shape == (info["samples"],) and info["magnitude_peak"] > 0
