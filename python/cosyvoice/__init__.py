"""cosyvoice: CosyVoice3 text-to-speech on ONNX Runtime, from Python (docs/api.md, "Python").

A ctypes binding of the C API (libcosyvoice, include/cosyvoice/cosyvoice_c.h); numpy arrays in and
out. It needs no PyTorch: the exporter (cosyvoice_export) is a separate package.

    import cosyvoice
    model = cosyvoice.Model("bundle")                      # shared by threads
    voice = model.create_voice("prompt.wav", "what prompt.wav says")
    session = model.session()                              # one per thread / request
    audio = session.synthesize("Hello!", voice)            # float32 numpy array at model.sample_rate
    for chunk in session.stream("Hello again!", voice):    # audio as it is made
        play(chunk.samples)

Errors raise cosyvoice.Error subclasses carrying the library's message and status. The library is
found through COSYVOICE_LIBRARY, then the dynamic loader (libcosyvoice.so.MAJOR.MINOR), then the
build tree of a source checkout (build/lib).
"""
from .api import (MODES, Chunk, Model, ModelInfo, Session, Stats, Voice, available_providers, ort_version,
                  read_audio, set_log_handler, set_log_level, version, write_wav)
from .errors import (BackendError, BundleError, CancelledError, Error, InternalError, InvalidArgumentError,
                     InvalidAudioError, IoError, UnsupportedError)

__version__ = "0.1.0"

__all__ = ["Model", "Voice", "Session", "Chunk", "Stats", "ModelInfo", "MODES", "version", "ort_version",
           "available_providers", "set_log_handler", "set_log_level", "read_audio", "write_wav", "Error",
           "InternalError", "InvalidArgumentError", "InvalidAudioError", "BundleError", "IoError", "BackendError",
           "CancelledError", "UnsupportedError"]
