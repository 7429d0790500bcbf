"""ctypes declarations of the C API (include/cosyvoice/cosyvoice_c.h) and loading of libcosyvoice.

The structs mirror the header field for field; load() checks each size against the struct_size the
library's *_default* functions report, so a mismatch between this file and the library fails at
import instead of corrupting memory.
"""
import ctypes
import os
import pathlib

from ctypes import POINTER, c_bool, c_char_p, c_double, c_float, c_int, c_int32, c_int64, c_size_t, c_uint32, \
    c_uint64, c_void_p

# The ABI this module was written for: the library's MAJOR.MINOR must match (its SONAME carries them).
ABI_VERSION = (0, 1)
SONAME = "libcosyvoice.so.%d.%d" % ABI_VERSION


class Audio(ctypes.Structure):
    _fields_ = [("samples", POINTER(c_float)), ("num_samples", c_size_t), ("sample_rate", c_int32)]


class ModelParams(ctypes.Structure):
    _fields_ = [("struct_size", c_uint32), ("intra_op_threads", c_int32), ("inter_op_threads", c_int32),
                ("providers", c_char_p), ("device_id", c_int32), ("graph_optimization", c_int32),
                ("verify_checksums", c_bool), ("profile_prefix", c_char_p), ("optimized_model_dir", c_char_p),
                ("precision", c_char_p), ("provider_options", c_char_p), ("stream_cache", c_char_p),
                ("max_stream_cache_mb", c_int64)]


class ModelInfo(ctypes.Structure):
    _fields_ = [("struct_size", c_uint32), ("model_name", c_char_p), ("format_version", c_char_p),
                ("bundle_dir", c_char_p), ("providers", c_char_p), ("sample_rate", c_int32), ("mel_bins", c_int32),
                ("variants", c_char_p)]


class Request(ctypes.Structure):
    _fields_ = [("struct_size", c_uint32), ("mode", c_int32), ("text", c_char_p), ("voice", c_void_p),
                ("instruct", c_char_p), ("source_audio", POINTER(Audio))]


# (name, C type) of the optional options, each preceded in the struct by has_<name>.
OPTIONAL_FIELDS = [("n_timesteps", c_int32), ("cfg_rate", c_float), ("top_p", c_float), ("top_k", c_int32),
                   ("win_size", c_int32), ("tau_r", c_float), ("min_token_text_ratio", c_float),
                   ("max_token_text_ratio", c_float), ("max_tokens", c_int32), ("min_tokens", c_int32)]


class SynthesisParams(ctypes.Structure):
    _fields_ = [("struct_size", c_uint32), ("speed", c_float), ("seed", c_uint64), ("text_frontend", c_bool),
                ("text_normalization", c_bool), ("stream", c_bool)] + \
               [f for name, ctype in OPTIONAL_FIELDS for f in (("has_" + name, c_bool), (name, ctype))] + \
               [("stream_mode", c_int32), ("reserved", c_int32)]


class AudioChunk(ctypes.Structure):
    _fields_ = [("struct_size", c_uint32), ("samples", POINTER(c_float)), ("num_samples", c_size_t),
                ("sample_rate", c_int32), ("segment", c_int32), ("num_segments", c_int32), ("segment_done", c_bool)]


class Stats(ctypes.Structure):
    _fields_ = [("struct_size", c_uint32), ("segments", c_int32), ("prompt_positions", c_int64),
                ("speech_tokens", c_int64), ("audio_seconds", c_double), ("total_seconds", c_double),
                ("first_audio_seconds", c_double), ("text_seconds", c_double), ("llm_prefill_seconds", c_double),
                ("llm_decode_seconds", c_double), ("flow_seconds", c_double), ("vocoder_seconds", c_double),
                ("frontend_seconds", c_double), ("rtf", c_double), ("tokens_per_second", c_double),
                ("first_chunk_tokens_seconds", c_double), ("first_chunk_flow_seconds", c_double),
                ("first_chunk_vocoder_seconds", c_double)]


AUDIO_CALLBACK = ctypes.CFUNCTYPE(c_int, POINTER(AudioChunk), c_void_p)
LOG_CALLBACK = ctypes.CFUNCTYPE(None, c_int, c_char_p, c_void_p)

_P = c_void_p  # opaque handles
_PROTOTYPES = {
    "cosyvoice_status_name": (c_char_p, [c_int]),
    "cosyvoice_last_error": (c_char_p, []),
    "cosyvoice_version": (c_char_p, []),
    "cosyvoice_ort_version": (c_char_p, []),
    "cosyvoice_available_providers": (POINTER(c_char_p), [POINTER(c_size_t)]),
    "cosyvoice_log_set": (None, [LOG_CALLBACK, c_void_p]),
    "cosyvoice_log_set_level": (None, [c_int]),
    "cosyvoice_audio_free": (None, [POINTER(Audio)]),
    "cosyvoice_audio_read": (c_int, [c_char_p, POINTER(POINTER(Audio))]),
    "cosyvoice_audio_write_wav": (c_int, [c_char_p, POINTER(c_float), c_size_t, c_int32, c_bool]),
    "cosyvoice_model_default_params": (ModelParams, []),
    "cosyvoice_model_load": (c_int, [c_char_p, POINTER(ModelParams), POINTER(_P)]),
    "cosyvoice_model_free": (None, [_P]),
    "cosyvoice_model_get_info": (c_int, [_P, POINTER(ModelInfo)]),
    "cosyvoice_model_sample_rate": (c_int32, [_P]),
    "cosyvoice_voice_create": (c_int, [_P, POINTER(c_float), c_size_t, c_int32, c_char_p, POINTER(_P)]),
    "cosyvoice_voice_create_from_file": (c_int, [_P, c_char_p, c_char_p, POINTER(_P)]),
    "cosyvoice_voice_load": (c_int, [c_char_p, POINTER(_P)]),
    "cosyvoice_voice_save": (c_int, [_P, c_char_p]),
    "cosyvoice_voice_free": (None, [_P]),
    "cosyvoice_voice_transcript": (c_char_p, [_P]),
    "cosyvoice_voice_source": (c_char_p, [_P]),
    "cosyvoice_voice_prompt_seconds": (c_double, [_P]),
    "cosyvoice_voice_num_prompt_tokens": (c_size_t, [_P]),
    "cosyvoice_mode_name": (c_char_p, [c_int32]),
    "cosyvoice_request_default": (Request, []),
    "cosyvoice_synthesis_default_params": (SynthesisParams, []),
    "cosyvoice_session_create": (c_int, [_P, POINTER(_P)]),
    "cosyvoice_session_free": (None, [_P]),
    "cosyvoice_session_synthesize": (c_int, [_P, POINTER(Request), POINTER(SynthesisParams), AUDIO_CALLBACK,
                                             c_void_p, POINTER(POINTER(Audio)), POINTER(Stats)]),
    "cosyvoice_session_stream": (c_int, [_P, POINTER(Request), POINTER(SynthesisParams), AUDIO_CALLBACK, c_void_p,
                                         POINTER(Stats)]),
    "cosyvoice_session_cancel": (None, [_P]),
}


def _candidates():
    """Where libcosyvoice is looked for, in order."""
    env = os.environ.get("COSYVOICE_LIBRARY")
    if env:
        return [env]  # an explicit choice is the only one tried
    here = pathlib.Path(__file__).resolve().parent
    return [str(p) for p in sorted(here.glob("libcosyvoice.so*"))] + [
        SONAME,  # the dynamic loader's search: LD_LIBRARY_PATH, RUNPATH, ldconfig's cache
        str(here.parent.parent / "build" / "lib" / SONAME),  # a source checkout built with `make build`
    ]


def load():
    errors = []
    for candidate in _candidates():
        try:
            lib = ctypes.CDLL(candidate)
            break
        except OSError as e:
            errors.append(f"  {candidate}: {e}")
    else:
        raise ImportError("cosyvoice: cannot load the C library libcosyvoice (set COSYVOICE_LIBRARY to its path, or "
                          "install it where the dynamic loader finds it); tried:\n" + "\n".join(errors))
    for name, (restype, argtypes) in _PROTOTYPES.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    version = lib.cosyvoice_version().decode()
    if tuple(int(x) for x in version.split(".")[:2]) != ABI_VERSION:
        raise ImportError(f"cosyvoice: {lib._name} is version {version}; this package needs "
                          f"{ABI_VERSION[0]}.{ABI_VERSION[1]}.x")
    for struct, size in ((ModelParams, lib.cosyvoice_model_default_params().struct_size),
                         (SynthesisParams, lib.cosyvoice_synthesis_default_params().struct_size),
                         (Request, lib.cosyvoice_request_default().struct_size)):
        if ctypes.sizeof(struct) != size:
            raise ImportError(f"cosyvoice: {struct.__name__} is {ctypes.sizeof(struct)} bytes here but {size} in "
                              f"{lib._name}: python/cosyvoice/_native.py does not match cosyvoice_c.h")
    return lib
