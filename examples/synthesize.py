"""examples/synthesize.py - clone a voice and speak, streaming, with the Python binding (docs/api.md).
    PYTHONPATH=python python3 examples/synthesize.py BUNDLE PROMPT.wav TRANSCRIPT OUT.wav"""
import sys

import numpy as np

import cosyvoice


def main(bundle, prompt_wav, transcript, out_wav):
    model = cosyvoice.Model(bundle)  # immutable, shared by threads
    voice = model.create_voice(prompt_wav, transcript)  # or cosyvoice.Voice.load("me.voice")
    session = model.session()  # one per thread / concurrent request
    pieces = []
    # Audio arrives while the sentence is generated; leaving the loop early cancels the request.
    for chunk in session.stream("Hello! This voice was cloned from a short recording.", voice,
                                seed=42, top_k=10):  # options left out take the bundle's defaults
        print(f"segment {chunk.segment + 1}/{chunk.num_segments}: +{chunk.samples.size} samples")
        pieces.append(chunk.samples)
    cosyvoice.write_wav(out_wav, np.concatenate(pieces), model.sample_rate)
    stats = session.last_stats
    print(f"wrote {out_wav}: {stats.audio_seconds:.2f} s of audio in {stats.total_seconds:.2f} s")


if __name__ == "__main__":
    try:
        main(*sys.argv[1:])
    except cosyvoice.Error as e:  # carries the library's message and status
        sys.exit(f"error ({e.code}): {e}")
