"""Model, Voice and Session: the Python face of the C API (include/cosyvoice/cosyvoice_c.h)."""
import atexit
import ctypes
import dataclasses
import os
import queue
import threading
from typing import Callable, Dict, Iterator, List, Optional, Union

import numpy as np

from . import _native
from .errors import CancelledError, Error, from_status

_lib = _native.load()

MODES = {"zero_shot": 0, "cross_lingual": 1, "instruct2": 2, "vc": 3}
_GRAPH_OPT = {"disabled": 0, "basic": 1, "extended": 2, "all": 3}
_LOG_LEVELS = {"debug": 0, "info": 1, "warning": 2, "error": 3, "silent": 4}
_OPTION_NAMES = {name for name, _ in _native.OPTIONAL_FIELDS}
PathLike = Union[str, os.PathLike]


def _check(status: int) -> None:
    """Raises the exception of a failed call, with this thread's message from the library."""
    if status != 0:
        raise from_status(status, _lib.cosyvoice_last_error().decode("utf-8", "replace"))


def _bytes(text: Optional[Union[str, os.PathLike]]) -> Optional[bytes]:
    return None if text is None else os.fsencode(text) if isinstance(text, os.PathLike) else text.encode("utf-8")


def _mono_float32(samples, what: str) -> np.ndarray:
    x = np.ascontiguousarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"{what}: expected mono audio as a 1-D array, got shape {x.shape}")
    return x


def _float_pointer(x: np.ndarray):
    return x.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


class _OwnedAudio:
    """Frees a cosyvoice_audio when the numpy array viewing it is garbage collected."""

    def __init__(self, pointer):
        self.pointer = pointer

    def __del__(self):
        _lib.cosyvoice_audio_free(self.pointer)


def _take_audio(pointer) -> np.ndarray:
    """The samples of a library-owned cosyvoice_audio as a float32 array, without a copy."""
    audio = pointer.contents
    n = audio.num_samples
    if n == 0:
        _lib.cosyvoice_audio_free(pointer)
        return np.zeros(0, dtype=np.float32)
    buffer = (ctypes.c_float * n).from_address(ctypes.addressof(audio.samples.contents))
    buffer._owner = _OwnedAudio(pointer)  # the array -> buffer -> owner chain keeps the samples alive
    return np.frombuffer(buffer, dtype=np.float32)


# ---- library-wide -------------------------------------------------------------------------------


def version() -> str:
    """The library version, e.g. "0.1.0"."""
    return _lib.cosyvoice_version().decode()


def ort_version() -> str:
    """The ONNX Runtime version actually loaded, e.g. "1.30.0"."""
    return _lib.cosyvoice_ort_version().decode()


def available_providers() -> List[str]:
    """Execution providers this ONNX Runtime offers, lower-case ("cpu", "cuda", ...)."""
    count = ctypes.c_size_t()
    names = _lib.cosyvoice_available_providers(ctypes.byref(count))
    if not names:
        _check(1)  # the library says why
    return [names[i].decode() for i in range(count.value)]


_log_callback = None  # the ctypes callback object must live as long as the library may call it


def set_log_handler(handler: Optional[Callable[[str, str], None]]) -> None:
    """Routes the library's log lines to handler(level, message) (level: "debug", "info", "warning",
    "error"); None restores stderr. The handler runs on the thread that logged; its exceptions are
    ignored."""
    global _log_callback
    if handler is None:
        _lib.cosyvoice_log_set(_native.LOG_CALLBACK(), None)
        _log_callback = None
        return
    names = {v: k for k, v in _LOG_LEVELS.items()}

    def forward(level, message, _user_data):
        try:
            handler(names.get(level, "info"), message.decode("utf-8", "replace"))
        except Exception:  # noqa: BLE001 - nothing may propagate into C
            pass

    callback = _native.LOG_CALLBACK(forward)
    _lib.cosyvoice_log_set(callback, None)
    _log_callback = callback  # the old one is no longer called once cosyvoice_log_set returned


@atexit.register
def _unhook_log():  # no call into a Python handler while the interpreter shuts down
    if _log_callback is not None:
        _lib.cosyvoice_log_set(_native.LOG_CALLBACK(), None)


def set_log_level(level: str) -> None:
    """Drops log lines below `level`: "debug", "info" (default), "warning", "error" or "silent"."""
    if level not in _LOG_LEVELS:
        raise ValueError(f"log level {level!r}: expected one of {', '.join(_LOG_LEVELS)}")
    _lib.cosyvoice_log_set_level(_LOG_LEVELS[level])


def read_audio(path: PathLike) -> "tuple[np.ndarray, int]":
    """Reads WAV/FLAC/OGG/MP3 as mono float32; returns (samples, sample_rate)."""
    pointer = ctypes.POINTER(_native.Audio)()
    _check(_lib.cosyvoice_audio_read(_bytes(path), ctypes.byref(pointer)))
    rate = pointer.contents.sample_rate
    return _take_audio(pointer), rate


def write_wav(path: PathLike, samples, sample_rate: int, float_samples: bool = False) -> None:
    """Writes mono audio as a 16-bit (or float) WAV, atomically; non-finite samples are refused."""
    x = _mono_float32(samples, "write_wav")
    _check(_lib.cosyvoice_audio_write_wav(_bytes(path), _float_pointer(x), x.size, sample_rate, float_samples))


# ---- results --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    model_name: str
    format_version: str
    bundle_dir: str
    providers: List[str]
    sample_rate: int
    mel_bins: int
    variants: Dict[str, str]  # per graph family the bundle variant in use ("base": the fp32 files)


@dataclasses.dataclass(frozen=True)
class Chunk:
    """A piece of output audio. Without streaming there is one per text segment."""
    samples: np.ndarray  # float32, mono
    sample_rate: int
    segment: int  # index of the text segment this audio belongs to
    num_segments: int
    segment_done: bool  # last chunk of this segment


@dataclasses.dataclass(frozen=True)
class Stats:
    """What one request did and how long it took (seconds are wall clock)."""
    segments: int
    prompt_positions: int
    speech_tokens: int
    audio_seconds: float
    total_seconds: float
    first_audio_seconds: float
    text_seconds: float
    llm_prefill_seconds: float
    llm_decode_seconds: float
    flow_seconds: float
    vocoder_seconds: float
    frontend_seconds: float
    rtf: float
    tokens_per_second: float
    # where a streamed request's first audio waited (0 when not streamed): when the token that
    # completed the first chunk arrived, then that chunk's flow and vocoder time
    first_chunk_tokens_seconds: float
    first_chunk_flow_seconds: float
    first_chunk_vocoder_seconds: float

    @classmethod
    def _from(cls, s: _native.Stats) -> "Stats":
        return cls(**{f.name: getattr(s, f.name) for f in dataclasses.fields(cls)})


# ---- handles ----------------------------------------------------------------------------------------


class _Handle:
    _free = None  # the C function releasing the handle
    _ptr = None

    def __init__(self, pointer):
        self._ptr = pointer

    def _handle(self):
        """The native pointer; ValueError once closed."""
        if not self._ptr:
            raise ValueError(f"{type(self).__name__} is closed")
        return self._ptr

    def close(self) -> None:
        """Releases the native object now (garbage collection does it otherwise)."""
        if self._ptr:
            ptr, self._ptr = self._ptr, None
            type(self)._free(ptr)

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - at interpreter exit the library may be gone already
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Model(_Handle):
    """A loaded bundle (docs/bundle.md): immutable, shared by any number of threads and sessions.

    threads sizes ONNX Runtime's intra-op pool, which every model of the process shares (the first
    model loaded sizes it); 0 lets ONNX Runtime choose. providers: e.g. ["cuda", "cpu"].
    provider_options: {"webgpu": {"preferredLayout": "NHWC"}} with ONNX Runtime's keys (docs/gpu.md).
    precision: which bundle variants run (docs/bundle.md §7), e.g. "int8", "auto" or "llm=int4".
    stream_cache: "fp32" or "fp16", how streaming keeps the flow's keys/values (docs/streaming.md §5.1).
    max_stream_cache_mb: the most memory one session's streaming cache may hold (0: no limit); a longer
    segment finishes with the flow recomputed per chunk (docs/streaming.md §5.2)."""

    _free = staticmethod(lambda p: _lib.cosyvoice_model_free(p))

    def __init__(self, bundle_dir: PathLike, *, threads: int = 0, inter_op_threads: int = 1,
                 providers: Optional[Union[str, List[str]]] = None, device_id: int = 0,
                 graph_optimization: str = "all", verify_checksums: bool = True, precision: str = "fp32",
                 provider_options: Optional[Dict[str, Dict[str, str]]] = None, stream_cache: str = "fp32",
                 max_stream_cache_mb: int = 4096):
        if graph_optimization not in _GRAPH_OPT:
            raise ValueError(f"graph_optimization {graph_optimization!r}: expected one of {', '.join(_GRAPH_OPT)}")
        params = _lib.cosyvoice_model_default_params()
        params.intra_op_threads = threads
        params.inter_op_threads = inter_op_threads
        if providers:
            params.providers = _bytes(providers if isinstance(providers, str) else ",".join(providers))
        params.device_id = device_id
        params.graph_optimization = _GRAPH_OPT[graph_optimization]
        params.verify_checksums = verify_checksums
        params.precision = _bytes(precision)
        params.stream_cache = _bytes(stream_cache)
        params.max_stream_cache_mb = max_stream_cache_mb
        if provider_options:
            entries = [f"{provider}.{key}={value}" for provider, options in provider_options.items()
                       for key, value in options.items()]
            if any(";" in e for e in entries):
                raise ValueError("provider_options: a provider name, key or value contains ';'")
            params.provider_options = _bytes(";".join(entries))
        handle = ctypes.c_void_p()
        _check(_lib.cosyvoice_model_load(_bytes(bundle_dir), ctypes.byref(params), ctypes.byref(handle)))
        super().__init__(handle.value)
        info = _native.ModelInfo(struct_size=ctypes.sizeof(_native.ModelInfo))
        _check(_lib.cosyvoice_model_get_info(self._handle(), ctypes.byref(info)))
        self.info = ModelInfo(info.model_name.decode(), info.format_version.decode(), info.bundle_dir.decode(),
                              info.providers.decode().split(","), info.sample_rate, info.mel_bins,
                              dict(v.split("=", 1) for v in info.variants.decode().split(",") if v))

    @property
    def sample_rate(self) -> int:
        """Of the synthesized audio, Hz."""
        return self.info.sample_rate

    def create_voice(self, prompt: Union[PathLike, np.ndarray], transcript: str = "", *,
                     sample_rate: Optional[int] = None) -> "Voice":
        """Prepares a voice from a recording (>= 16 kHz, speech, at most 30 s): an audio file path,
        or mono samples with their sample_rate. The transcript (what the recording says) is needed
        for zero-shot only. Thread-safe."""
        handle = ctypes.c_void_p()
        if isinstance(prompt, (str, os.PathLike)):
            _check(_lib.cosyvoice_voice_create_from_file(self._handle(), _bytes(prompt), _bytes(transcript),
                                                         ctypes.byref(handle)))
        else:
            if sample_rate is None:
                raise ValueError("create_voice: give sample_rate with an array of samples")
            x = _mono_float32(prompt, "create_voice")
            _check(_lib.cosyvoice_voice_create(self._handle(), _float_pointer(x), x.size, sample_rate,
                                               _bytes(transcript), ctypes.byref(handle)))
        return Voice(handle.value)

    def session(self) -> "Session":
        """A new session on this model (one per thread or concurrent request)."""
        return Session(self)


class Voice(_Handle):
    """A prepared prompt voice: immutable, shareable between sessions and threads."""

    _free = staticmethod(lambda p: _lib.cosyvoice_voice_free(p))

    @classmethod
    def load(cls, path: PathLike) -> "Voice":
        """Loads a voice file (Voice.save, `cosyvoice voice create`)."""
        handle = ctypes.c_void_p()
        _check(_lib.cosyvoice_voice_load(_bytes(path), ctypes.byref(handle)))
        return cls(handle.value)

    def save(self, path: PathLike) -> None:
        """Writes the voice to a file (atomically)."""
        _check(_lib.cosyvoice_voice_save(self._handle(), _bytes(path)))

    @property
    def transcript(self) -> str:
        return _lib.cosyvoice_voice_transcript(self._handle()).decode()

    @property
    def source(self) -> str:
        return _lib.cosyvoice_voice_source(self._handle()).decode()

    @property
    def prompt_seconds(self) -> float:
        return _lib.cosyvoice_voice_prompt_seconds(self._handle())

    @property
    def num_prompt_tokens(self) -> int:
        return _lib.cosyvoice_voice_num_prompt_tokens(self._handle())


class Session(_Handle):
    """Runs one request at a time on a shared Model (use one per thread); cancel() works from any
    thread. Options (keyword arguments of synthesize and stream):

      seed=0, speed=1.0, stream=False, stream_mode="exact" ("fast", "recompute"; docs/streaming.md),
      text_frontend=True, text_normalization=True, and the
      optional n_timesteps, cfg_rate, top_p, top_k, win_size, tau_r, min_token_text_ratio,
      max_token_text_ratio, max_tokens, min_tokens: None (the default) takes the bundle's value;
      anything else is used as given, zero included.

    mode: "zero_shot", "cross_lingual", "instruct2" or "vc"; by default "vc" with a source,
    "instruct2" with an instruct, "zero_shot" for a voice with a transcript, else "cross_lingual".
    """

    _free = staticmethod(lambda p: _lib.cosyvoice_session_free(p))

    def __init__(self, model: Model):
        handle = ctypes.c_void_p()
        _check(_lib.cosyvoice_session_create(model._handle(), ctypes.byref(handle)))
        super().__init__(handle.value)  # holds a reference to the model: `model` may be closed first
        self.sample_rate = model.sample_rate
        self.last_stats: Optional[Stats] = None  # of the last successful request

    def synthesize(self, text: str = "", voice: Optional[Voice] = None, *, mode: Optional[str] = None,
                   instruct: str = "", source=None, source_sample_rate: Optional[int] = None,
                   on_chunk: Optional[Callable[[Chunk], Optional[bool]]] = None, **options) -> np.ndarray:
        """Synthesizes and returns the whole output (float32, mono, model.sample_rate).
        on_chunk(chunk) also receives the audio as it is made; returning False cancels (then
        CancelledError); an exception it raises cancels and is re-raised here."""
        request = _Request(text, voice, mode, instruct, source, source_sample_rate)
        params = _params(options)
        bridge = _CallbackBridge(on_chunk)
        audio = ctypes.POINTER(_native.Audio)()
        stats = _native.Stats(struct_size=ctypes.sizeof(_native.Stats))
        status = _lib.cosyvoice_session_synthesize(self._handle(), ctypes.byref(request.c), ctypes.byref(params),
                                                   bridge.c_callback, None, ctypes.byref(audio), ctypes.byref(stats))
        bridge.check(status)
        self.last_stats = Stats._from(stats)
        return _take_audio(audio)

    def stream(self, text: str = "", voice: Optional[Voice] = None, *, mode: Optional[str] = None,
               instruct: str = "", source=None, source_sample_rate: Optional[int] = None, max_queued: int = 8,
               **options) -> Iterator[Chunk]:
        """Yields the audio in chunks as it is made (streaming on unless stream=False is given).

        The synthesis runs on a worker thread and starts at the first next(); at most max_queued
        chunks wait for the consumer (back-pressure: a slow consumer pauses the synthesis, memory
        stays bounded). Leaving the loop early (break, close(), an exception) cancels the synthesis
        and waits for the worker. Errors are raised from the iterator."""
        self._handle()  # a closed session fails here, not in the worker
        options.setdefault("stream", True)
        request = _Request(text, voice, mode, instruct, source, source_sample_rate)
        params = _params(options)
        return self._stream(request, params, max_queued)

    def _stream(self, request, params, max_queued):
        chunks: "queue.Queue" = queue.Queue(maxsize=max_queued)
        stop = threading.Event()
        done = object()

        def offer(item) -> bool:  # blocks while the queue is full, until the consumer leaves
            while not stop.is_set():
                try:
                    chunks.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    pass
            return False

        def work():
            if stop.is_set():  # the consumer left before the synthesis began
                return
            stats = _native.Stats(struct_size=ctypes.sizeof(_native.Stats))
            bridge = _CallbackBridge(offer)
            try:
                status = _lib.cosyvoice_session_stream(self._handle(), ctypes.byref(request.c), ctypes.byref(params),
                                                       bridge.c_callback, None, ctypes.byref(stats))
                bridge.check(status)
                self.last_stats = Stats._from(stats)
                offer(done)
            except BaseException as e:  # noqa: BLE001 - handed to the consuming thread
                offer(e)

        worker = threading.Thread(target=work, name="cosyvoice-stream", daemon=True)
        worker.start()
        try:
            while True:
                item = chunks.get()
                if item is done:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            self.cancel()
            worker.join()

    def cancel(self) -> None:
        """Stops the running synthesize/stream at its next checkpoint (it raises CancelledError).
        Safe from any thread."""
        if self._ptr:
            _lib.cosyvoice_session_cancel(self._ptr)


class _Request:
    """A cosyvoice_request and the Python objects it points into (kept alive with it)."""

    def __init__(self, text, voice, mode, instruct, source, source_sample_rate):
        if voice is None:
            raise ValueError("a voice is required (Model.create_voice or Voice.load)")
        if mode is None:
            mode = "vc" if source is not None else "instruct2" if instruct else \
                "zero_shot" if voice.transcript else "cross_lingual"
        if mode not in MODES:
            raise ValueError(f"mode {mode!r}: expected one of {', '.join(MODES)}")
        self.voice = voice
        self.c = _lib.cosyvoice_request_default()
        self.c.mode = MODES[mode]
        self.c.text = _bytes(text)
        self.c.voice = voice._handle()
        self.c.instruct = _bytes(instruct)
        if source is not None:
            if isinstance(source, (str, os.PathLike)):
                samples, source_sample_rate = read_audio(source)
            elif source_sample_rate is None:
                raise ValueError("give source_sample_rate with an array of source samples")
            else:
                samples = source
            self.source = _mono_float32(samples, "source")
            self.source_audio = _native.Audio(_float_pointer(self.source), self.source.size, source_sample_rate)
            self.c.source_audio = ctypes.pointer(self.source_audio)


# cosyvoice_stream_mode (docs/streaming.md §3)
_STREAM_MODES = {"exact": 0, "fast": 1, "recompute": 2}


def _params(options) -> _native.SynthesisParams:
    p = _lib.cosyvoice_synthesis_default_params()
    for name, value in options.items():
        if name in _OPTION_NAMES:
            setattr(p, "has_" + name, value is not None)
            if value is not None:
                setattr(p, name, value)
        elif name in ("seed", "speed", "stream", "text_frontend", "text_normalization"):
            setattr(p, name, value)
        elif name == "stream_mode":
            if value not in _STREAM_MODES:
                raise ValueError(f"stream_mode {value!r}: expected one of {', '.join(_STREAM_MODES)}")
            p.stream_mode = _STREAM_MODES[value]
        else:
            raise TypeError(f"unknown synthesis option {name!r}")
    return p


class _CallbackBridge:
    """A Python chunk handler as a C callback: copies each chunk, turns False or an exception into
    a cancel, and afterwards raises what the handler raised rather than the CancelledError."""

    def __init__(self, handler):
        self.handler = handler
        self.error: Optional[BaseException] = None
        self.c_callback = _native.AUDIO_CALLBACK(self._call) if handler else _native.AUDIO_CALLBACK()

    def _call(self, chunk_pointer, _user_data):
        try:
            c = chunk_pointer.contents
            samples = np.ctypeslib.as_array(c.samples, shape=(c.num_samples,)).copy() if c.num_samples else \
                np.zeros(0, dtype=np.float32)
            chunk = Chunk(samples, c.sample_rate, c.segment, c.num_segments, bool(c.segment_done))
            return 0 if self.handler(chunk) is not False else 1
        except BaseException as e:  # noqa: BLE001 - nothing may propagate into C
            self.error = e
            return 1

    def check(self, status: int) -> None:
        if self.error is not None and status == CancelledError.status:
            raise self.error
        _check(status)


__all__ = ["Model", "Voice", "Session", "Chunk", "Stats", "ModelInfo", "Error", "MODES", "version", "ort_version",
           "available_providers", "set_log_handler", "set_log_level", "read_audio", "write_wav"]
