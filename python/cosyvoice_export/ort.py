"""Run .onnx graphs from Python through ONNX Runtime.

    g = OrtGraph("model.onnx", threads=1)
    g.input_names, g.output_names, g.inputs, g.outputs   # inputs: [(name, numpy dtype, shape)]
    out = g.run({"x": x})                                # {output name: ndarray}

Backends, in order: the ``onnxruntime`` Python package when it is importable (pip users), else
**ctypes over the ONNX Runtime C API** of ``libonnxruntime.so.1`` from ``$ONNXRUNTIME_ROOT/lib``,
then ``<repo>/third_party/onnxruntime/lib`` (scripts/setup/fetch-onnxruntime.sh).  ``backend=``
forces one ("onnxruntime" or "ctypes").

The C API is a struct of function pointers (``OrtApi``) obtained with
``OrtGetApiBase()->GetApi(version)``.  Its member order is ABI-stable (new members are only
appended), so the indices of the functions used here were computed once from the member order in
``third_party/onnxruntime/include/onnxruntime_c_api.h`` (ORT_API_VERSION 21) and are hard-coded in
``ORTAPI_INDEX``; ``derive_ortapi_indices(header)`` recomputes them and the tests compare.

Custom operators (``custom_ops_library=``): a shared library exporting ONNX Runtime's
``RegisterCustomOps`` entry is registered on the session's options before the session is created
(``SessionOptions.register_custom_ops_library`` / ``RegisterCustomOpsLibrary_V2``), so graphs with
this project's ``org.cosyvoice_ort`` operators (``WinogradConv1d``, ``Snake``, ``PanelMatMul``) run;
``ops_library_path()`` finds the one the C++ build writes (``build/lib/libcosyvoice_ops.so``), and
``import_ops_domain()`` declares the domain in a graph that uses them.

Supported tensor element types: float32, float64, int32, int64, bool (plus int8/uint8/int16/
uint16/uint32/uint64/float16 which map 1:1 to numpy).  Dynamic shapes are fine.  Errors from ORT
become OrtError carrying ORT's message and the model path; every OrtValue, OrtStatus, type info
and allocator string created here is released.
"""
from __future__ import annotations

import ctypes
import os
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

ORT_API_VERSION = 21  # the header version the indices below were derived from

# Index of each used function in struct OrtApi (0-based member order of onnxruntime_c_api.h).
ORTAPI_INDEX = {
    "GetErrorCode": 1,
    "GetErrorMessage": 2,
    "CreateEnv": 3,
    "CreateSession": 7,
    "Run": 9,
    "CreateSessionOptions": 10,
    "SetOptimizedModelFilePath": 11,
    "EnableProfiling": 14,
    "SetSessionLogSeverityLevel": 22,
    "SetSessionGraphOptimizationLevel": 23,
    "SetIntraOpNumThreads": 24,
    "SetInterOpNumThreads": 25,
    "SessionGetInputCount": 30,
    "SessionGetOutputCount": 31,
    "SessionGetInputTypeInfo": 33,
    "SessionGetOutputTypeInfo": 34,
    "SessionGetInputName": 36,
    "SessionGetOutputName": 37,
    "CreateTensorWithDataAsOrtValue": 49,
    "IsTensor": 50,
    "GetTensorMutableData": 51,
    "CastTypeInfoToTensorInfo": 55,
    "GetOnnxTypeFromTypeInfo": 56,
    "GetTensorElementType": 60,
    "GetDimensionsCount": 61,
    "GetDimensions": 62,
    "GetSymbolicDimensions": 63,
    "GetTensorShapeElementCount": 64,
    "GetTensorTypeAndShape": 65,
    "CreateCpuMemoryInfo": 69,
    "AllocatorFree": 76,
    "GetAllocatorWithDefaultOptions": 78,
    "ReleaseEnv": 92,
    "ReleaseStatus": 93,
    "ReleaseMemoryInfo": 94,
    "ReleaseSession": 95,
    "ReleaseValue": 96,
    "ReleaseTypeInfo": 98,
    "ReleaseTensorTypeAndShapeInfo": 99,
    "ReleaseSessionOptions": 100,
    "SessionEndProfiling": 110,
    "AddSessionConfigEntry": 130,
    "RegisterCustomOpsLibrary_V2": 228,
}

# ONNXTensorElementDataType <-> numpy
_ONNX_TO_NP = {
    1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 7: np.int64,
    9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64,
}
_NP_TO_ONNX = {np.dtype(v): k for k, v in _ONNX_TO_NP.items()}
_ORT_STRING_TYPE = {  # onnxruntime (pip) NodeArg.type strings
    "tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int32)": np.int32,
    "tensor(int64)": np.int64, "tensor(bool)": np.bool_, "tensor(uint8)": np.uint8, "tensor(int8)": np.int8,
    "tensor(uint16)": np.uint16, "tensor(int16)": np.int16, "tensor(uint32)": np.uint32,
    "tensor(uint64)": np.uint64, "tensor(float16)": np.float16,
}
_OPT_LEVELS = {"disable": 0, "basic": 1, "extended": 2, "all": 99}
_LOG_LEVEL = 4  # ORT_LOGGING_LEVEL_FATAL: errors reach the caller as OrtError, not as stderr logs


class OrtError(RuntimeError):
    """An ONNX Runtime failure; the message holds ORT's text and the model path."""


# ------------------------------------------------------------------------------------ header

def derive_ortapi_indices(header_path) -> Dict[str, int]:
    """Member name -> index of struct OrtApi, parsed from onnxruntime_c_api.h.

    Members are declared as ``ORT_API2_STATUS(Name, ...)``, ``ORT_CLASS_RELEASE(X)``
    (-> ``ReleaseX``) or explicit ``T(ORT_API_CALL* Name)(...)`` function pointers."""
    text = Path(header_path).read_text(encoding="utf-8", errors="replace")
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    start = text.index("{", text.index("struct OrtApi {"))
    depth = 0
    for end in range(start, len(text)):
        if text[end] == "{":
            depth += 1
        elif text[end] == "}":
            depth -= 1
            if depth == 0:
                break
    pat = re.compile(r"^(?:ORT_API2_STATUS\(\s*(\w+)|ORT_CLASS_RELEASE\(\s*(\w+)\s*\)|.*?\(\s*ORT_API_CALL\s*\*\s*(\w+)\s*\))",
                     re.S)
    names: List[str] = []
    for stmt in text[start + 1:end].split(";"):
        stmt = stmt.strip()
        if not stmt:
            continue
        m = pat.match(stmt)
        if not m:
            raise ValueError("unrecognised OrtApi member declaration: %r" % stmt[:120])
        names.append(m.group(1) or ("Release" + m.group(2) if m.group(2) else m.group(3)))
    return {n: i for i, n in enumerate(names)}


# ------------------------------------------------------------------------------------ library

def _repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def find_onnxruntime_library() -> Path:
    """libonnxruntime.so.1 from $ONNXRUNTIME_ROOT/lib, else <repo>/third_party/onnxruntime/lib."""
    cands = []
    root = os.environ.get("ONNXRUNTIME_ROOT")
    if root:
        cands += [Path(root) / "lib" / "libonnxruntime.so.1", Path(root) / "lib" / "libonnxruntime.so"]
    tp = _repo_root() / "third_party" / "onnxruntime" / "lib"
    cands += [tp / "libonnxruntime.so.1", tp / "libonnxruntime.so"]
    for c in cands:
        if c.exists():
            return c
    raise OrtError("ONNX Runtime library not found; looked for %s. Set ONNXRUNTIME_ROOT or run "
                   "scripts/setup/fetch-onnxruntime.sh" % ", ".join(str(c) for c in cands))


OPS_DOMAIN = "org.cosyvoice_ort"    # the operators of src/kernels/custom_ops.h, version 1
OPS_OPSET = 1
OPS_LIBRARY_ENV = "COSYVOICE_OPS_LIBRARY"
OPS_LIBRARY_DEFAULT = Path("build") / "lib" / "libcosyvoice_ops.so"   # relative to the repository


def import_ops_domain(model) -> None:
    """Declares :data:`OPS_DOMAIN` in ``model``'s ``opset_import`` (once) for the nodes of it a rewrite
    or a graph builder wrote."""
    from onnx import helper

    if not any(o.domain == OPS_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(OPS_DOMAIN, OPS_OPSET))


def ops_library_path() -> Path:
    """The custom operator library (``org.cosyvoice_ort`` operators): ``$COSYVOICE_OPS_LIBRARY``,
    else ``<repo>/build/lib/libcosyvoice_ops.so``. Raises FileNotFoundError naming the path when it
    is missing: the graphs that use these operators cannot be run (or checked) without it."""
    env = os.environ.get(OPS_LIBRARY_ENV)
    path = Path(env) if env else _repo_root() / OPS_LIBRARY_DEFAULT
    if not path.is_file():
        origin = f" (from ${OPS_LIBRARY_ENV})" if env else ""
        raise FileNotFoundError(f"{path}{origin}: the custom operator library (org.cosyvoice_ort: WinogradConv1d, Snake, "
                                f"PanelMatMul) "
                                f"is missing; build it with `make build` (cmake target cosyvoice_ops)")
    return path


_P = ctypes.c_void_p
_PP = ctypes.POINTER(ctypes.c_void_p)
_SIZE = ctypes.c_size_t
_SIG = {  # name: (restype, argtypes)
    "GetErrorCode": (ctypes.c_int, [_P]),
    "GetErrorMessage": (ctypes.c_char_p, [_P]),
    "CreateEnv": (_P, [ctypes.c_int, ctypes.c_char_p, _PP]),
    "CreateSession": (_P, [_P, ctypes.c_char_p, _P, _PP]),
    "Run": (_P, [_P, _P, ctypes.POINTER(ctypes.c_char_p), _PP, _SIZE, ctypes.POINTER(ctypes.c_char_p), _SIZE, _PP]),
    "CreateSessionOptions": (_P, [_PP]),
    "SetOptimizedModelFilePath": (_P, [_P, ctypes.c_char_p]),
    "EnableProfiling": (_P, [_P, ctypes.c_char_p]),
    "SessionEndProfiling": (_P, [_P, _P, _PP]),
    "AddSessionConfigEntry": (_P, [_P, ctypes.c_char_p, ctypes.c_char_p]),
    "RegisterCustomOpsLibrary_V2": (_P, [_P, ctypes.c_char_p]),   # ORTCHAR_T is char off Windows
    "SetSessionLogSeverityLevel": (_P, [_P, ctypes.c_int]),
    "SetSessionGraphOptimizationLevel": (_P, [_P, ctypes.c_int]),
    "SetIntraOpNumThreads": (_P, [_P, ctypes.c_int]),
    "SetInterOpNumThreads": (_P, [_P, ctypes.c_int]),
    "SessionGetInputCount": (_P, [_P, ctypes.POINTER(_SIZE)]),
    "SessionGetOutputCount": (_P, [_P, ctypes.POINTER(_SIZE)]),
    "SessionGetInputTypeInfo": (_P, [_P, _SIZE, _PP]),
    "SessionGetOutputTypeInfo": (_P, [_P, _SIZE, _PP]),
    "SessionGetInputName": (_P, [_P, _SIZE, _P, _PP]),
    "SessionGetOutputName": (_P, [_P, _SIZE, _P, _PP]),
    "CreateTensorWithDataAsOrtValue": (_P, [_P, _P, _SIZE, ctypes.POINTER(ctypes.c_int64), _SIZE, ctypes.c_int, _PP]),
    "IsTensor": (_P, [_P, ctypes.POINTER(ctypes.c_int)]),
    "GetTensorMutableData": (_P, [_P, _PP]),
    "CastTypeInfoToTensorInfo": (_P, [_P, _PP]),
    "GetOnnxTypeFromTypeInfo": (_P, [_P, ctypes.POINTER(ctypes.c_int)]),
    "GetTensorElementType": (_P, [_P, ctypes.POINTER(ctypes.c_int)]),
    "GetDimensionsCount": (_P, [_P, ctypes.POINTER(_SIZE)]),
    "GetDimensions": (_P, [_P, ctypes.POINTER(ctypes.c_int64), _SIZE]),
    "GetSymbolicDimensions": (_P, [_P, ctypes.POINTER(ctypes.c_char_p), _SIZE]),
    "GetTensorShapeElementCount": (_P, [_P, ctypes.POINTER(_SIZE)]),
    "GetTensorTypeAndShape": (_P, [_P, _PP]),
    "CreateCpuMemoryInfo": (_P, [ctypes.c_int, ctypes.c_int, _PP]),
    "AllocatorFree": (_P, [_P, _P]),
    "GetAllocatorWithDefaultOptions": (_P, [_PP]),
    "ReleaseEnv": (None, [_P]),
    "ReleaseStatus": (None, [_P]),
    "ReleaseMemoryInfo": (None, [_P]),
    "ReleaseSession": (None, [_P]),
    "ReleaseValue": (None, [_P]),
    "ReleaseTypeInfo": (None, [_P]),
    "ReleaseTensorTypeAndShapeInfo": (None, [_P]),
    "ReleaseSessionOptions": (None, [_P]),
}


class _OrtApiBase(ctypes.Structure):
    _fields_ = [("GetApi", ctypes.CFUNCTYPE(_P, ctypes.c_uint32)),
                ("GetVersionString", ctypes.CFUNCTYPE(ctypes.c_char_p))]


class _CApi:
    """Function table of one loaded libonnxruntime, with a process-wide env and CPU memory info."""

    def __init__(self, lib_path: Path):
        self.lib_path = Path(lib_path)
        self.lib = ctypes.CDLL(str(lib_path))
        get_base = self.lib.OrtGetApiBase
        get_base.restype = ctypes.POINTER(_OrtApiBase)
        base = get_base().contents
        self.version = base.GetVersionString().decode()
        api = None
        for v in range(ORT_API_VERSION, 0, -1):  # an older library serves only older API versions
            api = base.GetApi(v)
            if api:
                self.api_version = v
                break
        if not api:
            raise OrtError("%s: OrtGetApiBase()->GetApi() returned NULL" % lib_path)
        table = ctypes.cast(api, ctypes.POINTER(ctypes.c_void_p))
        self.fn = {}
        for name, idx in ORTAPI_INDEX.items():
            restype, argtypes = _SIG[name]
            self.fn[name] = ctypes.CFUNCTYPE(restype, *argtypes)(table[idx])
        # live-object bookkeeping (tests check that everything created is released)
        self.live = {"Status": 0, "Value": 0, "TypeInfo": 0, "TensorTypeAndShapeInfo": 0, "Session": 0,
                     "SessionOptions": 0, "AllocatorString": 0}
        out = _P()
        self.check(self.fn["CreateEnv"](_LOG_LEVEL, b"cosyvoice_export", ctypes.byref(out)), "CreateEnv")
        self.env = out
        out = _P()
        self.check(self.fn["CreateCpuMemoryInfo"](1, 0, ctypes.byref(out)), "CreateCpuMemoryInfo")  # arena, default
        self.meminfo = out
        out = _P()
        self.check(self.fn["GetAllocatorWithDefaultOptions"](ctypes.byref(out)), "GetAllocatorWithDefaultOptions")
        self.allocator = out  # not owned

    def check(self, status, where: str, model: Optional[str] = None) -> None:
        """Turn a non-NULL OrtStatus* into OrtError (and release it)."""
        if not status:
            return
        self.live["Status"] += 1
        try:
            code = self.fn["GetErrorCode"](status)
            msg = self.fn["GetErrorMessage"](status)
            msg = msg.decode("utf-8", "replace") if msg else ""
        finally:
            self.fn["ReleaseStatus"](status)
            self.live["Status"] -= 1
        prefix = "%s: " % model if model else ""
        raise OrtError("%sONNX Runtime %s failed (code %d): %s" % (prefix, where, code, msg))

    def release(self, kind: str, handle) -> None:
        if handle:
            self.fn["Release" + kind](handle)
            self.live[kind] -= 1


_capi_cache: Dict[str, _CApi] = {}



def _element_type_and_dims(c, info, path):
    """Element type, dimension count and dims of an OrtTensorTypeAndShapeInfo."""
    et = ctypes.c_int()
    c.check(c.fn["GetTensorElementType"](info, ctypes.byref(et)), "GetTensorElementType", path)
    nd = _SIZE()
    c.check(c.fn["GetDimensionsCount"](info, ctypes.byref(nd)), "GetDimensionsCount", path)
    dims = (ctypes.c_int64 * max(nd.value, 1))()
    c.check(c.fn["GetDimensions"](info, dims, nd.value), "GetDimensions", path)
    return et, nd, dims

def _get_capi(lib_path: Optional[Path] = None) -> _CApi:
    path = Path(lib_path) if lib_path else find_onnxruntime_library()
    key = str(path.resolve())
    if key not in _capi_cache:
        _capi_cache[key] = _CApi(path)
    return _capi_cache[key]


def ctypes_live_objects(lib_path: Optional[Path] = None) -> Dict[str, int]:
    """Counts of ORT objects created by the ctypes backend and not yet released."""
    return dict(_get_capi(lib_path).live)


# ------------------------------------------------------------------------------------ backends

class _CtypesSession:
    def __init__(self, path: str, threads: int, opt_level: int, lib_path=None, optimized_model_path=None,
                 profile_prefix=None, config=None, custom_ops_library=None):
        self.c = c = _get_capi(lib_path)
        self.path = path
        self.handle = None
        opts = _P()
        c.check(c.fn["CreateSessionOptions"](ctypes.byref(opts)), "CreateSessionOptions", path)
        c.live["SessionOptions"] += 1
        try:
            c.check(c.fn["SetSessionLogSeverityLevel"](opts, _LOG_LEVEL), "SetSessionLogSeverityLevel", path)
            c.check(c.fn["SetSessionGraphOptimizationLevel"](opts, opt_level), "SetSessionGraphOptimizationLevel", path)
            c.check(c.fn["SetIntraOpNumThreads"](opts, int(threads)), "SetIntraOpNumThreads", path)
            c.check(c.fn["SetInterOpNumThreads"](opts, 1), "SetInterOpNumThreads", path)
            if optimized_model_path:
                c.check(c.fn["SetOptimizedModelFilePath"](opts, os.fsencode(str(optimized_model_path))),
                        "SetOptimizedModelFilePath", path)
            if profile_prefix:
                c.check(c.fn["EnableProfiling"](opts, os.fsencode(str(profile_prefix))), "EnableProfiling", path)
            for key, value in (config or {}).items():
                c.check(c.fn["AddSessionConfigEntry"](opts, key.encode(), str(value).encode()),
                        "AddSessionConfigEntry(%s)" % key, path)
            if custom_ops_library:   # ORT loads the library and keeps it loaded while the session lives
                c.check(c.fn["RegisterCustomOpsLibrary_V2"](opts, os.fsencode(str(custom_ops_library))),
                        "RegisterCustomOpsLibrary_V2(%s)" % custom_ops_library, path)
            sess = _P()
            c.check(c.fn["CreateSession"](c.env, os.fsencode(path), opts, ctypes.byref(sess)), "CreateSession", path)
            c.live["Session"] += 1
            self.handle = sess
        finally:
            c.release("SessionOptions", opts)
        try:
            self.inputs = self._describe("Input")
            self.outputs = self._describe("Output")
        except BaseException:
            self.close()
            raise

    def _describe(self, which: str):
        c, path = self.c, self.path
        n = _SIZE()
        c.check(c.fn["Session%sCount" % ("GetInput" if which == "Input" else "GetOutput")](self.handle, ctypes.byref(n)),
                "SessionGet%sCount" % which, path)
        out = []
        for i in range(n.value):
            name_p = _P()
            c.check(c.fn["SessionGet%sName" % which](self.handle, i, c.allocator, ctypes.byref(name_p)),
                    "SessionGet%sName" % which, path)
            c.live["AllocatorString"] += 1
            try:
                name = ctypes.string_at(name_p).decode("utf-8")
            finally:
                c.check(c.fn["AllocatorFree"](c.allocator, name_p), "AllocatorFree", path)
                c.live["AllocatorString"] -= 1
            ti = _P()
            c.check(c.fn["SessionGet%sTypeInfo" % which](self.handle, i, ctypes.byref(ti)),
                    "SessionGet%sTypeInfo" % which, path)
            c.live["TypeInfo"] += 1
            try:
                dtype, shape = self._tensor_type(ti)
            finally:
                c.release("TypeInfo", ti)
            out.append((name, dtype, shape))
        return out

    def _tensor_type(self, type_info):
        c, path = self.c, self.path
        onnx_type = ctypes.c_int()
        c.check(c.fn["GetOnnxTypeFromTypeInfo"](type_info, ctypes.byref(onnx_type)), "GetOnnxTypeFromTypeInfo", path)
        if onnx_type.value != 1:  # ONNX_TYPE_TENSOR
            return "non-tensor(%d)" % onnx_type.value, None
        info = _P()  # owned by type_info: not released separately
        c.check(c.fn["CastTypeInfoToTensorInfo"](type_info, ctypes.byref(info)), "CastTypeInfoToTensorInfo", path)
        et, nd, dims = _element_type_and_dims(c, info, path)
        syms = (ctypes.c_char_p * max(nd.value, 1))()
        c.check(c.fn["GetSymbolicDimensions"](info, syms, nd.value), "GetSymbolicDimensions", path)
        shape = []
        for k in range(nd.value):
            if dims[k] >= 0:
                shape.append(int(dims[k]))
            else:
                s = syms[k].decode("utf-8") if syms[k] else ""
                shape.append(s if s else None)
        dtype = _ONNX_TO_NP.get(et.value)
        return (np.dtype(dtype) if dtype is not None else "onnx-type-%d" % et.value), tuple(shape)

    def _wrap(self, a: np.ndarray, name: str):
        """An OrtValue over the memory of the C-contiguous array ``a`` (not copied)."""
        c, path = self.c, self.path
        et = _NP_TO_ONNX.get(a.dtype)
        if et is None:
            raise TypeError("%s: tensor %r has unsupported dtype %s" % (path, name, a.dtype))
        shape = (ctypes.c_int64 * max(a.ndim, 1))(*a.shape)
        v = _P()
        c.check(c.fn["CreateTensorWithDataAsOrtValue"](c.meminfo, a.ctypes.data_as(_P), a.nbytes, shape, a.ndim,
                                                        et, ctypes.byref(v)),
                "CreateTensorWithDataAsOrtValue(%s)" % name, path)
        c.live["Value"] += 1
        return v

    def run(self, feeds: Dict[str, np.ndarray], output_names: List[str],
            out_buffers: Optional[Dict[str, np.ndarray]] = None) -> List[np.ndarray]:
        c, path = self.c, self.path
        if not self.handle:
            raise OrtError("%s: session is closed" % path)
        out_buffers = out_buffers or {}
        names = list(feeds)
        arrays = []
        values = (ctypes.c_void_p * max(len(names), 1))()
        created = []
        outs = (ctypes.c_void_p * max(len(output_names), 1))()
        try:
            for k, name in enumerate(names):
                a = feeds[name]
                if not a.flags.c_contiguous:  # (np.ascontiguousarray would turn a 0-d array into 1-d)
                    a = a.copy(order="C")
                arrays.append(a)
                v = self._wrap(a, name)
                created.append(v)
                values[k] = v.value
            for k, name in enumerate(output_names):
                if name in out_buffers:       # preallocated: ORT writes into this memory (it may alias an input)
                    a = out_buffers[name]
                    if not a.flags.c_contiguous or not a.flags.writeable:
                        raise ValueError("%s: out_buffers[%r] must be a writeable C-contiguous array" % (path, name))
                    v = self._wrap(a, name)
                    created.append(v)
                    outs[k] = v.value
            in_names = (ctypes.c_char_p * max(len(names), 1))(*[n.encode() for n in names])
            out_names = (ctypes.c_char_p * max(len(output_names), 1))(*[n.encode() for n in output_names])
            c.check(c.fn["Run"](self.handle, None, in_names, values, len(names), out_names, len(output_names), outs),
                    "Run", path)
            for k, name in enumerate(output_names):
                if outs[k] and name not in out_buffers:
                    c.live["Value"] += 1
            return [out_buffers[n] if n in out_buffers else self._to_numpy(outs[k], n)
                    for k, n in enumerate(output_names)]
        finally:
            for v in created:
                c.release("Value", v)
            for k, name in enumerate(output_names):
                if outs[k] and name not in out_buffers:
                    c.release("Value", outs[k])
                outs[k] = None

    def _to_numpy(self, value, name) -> np.ndarray:
        c, path = self.c, self.path
        is_t = ctypes.c_int()
        c.check(c.fn["IsTensor"](value, ctypes.byref(is_t)), "IsTensor", path)
        if not is_t.value:
            raise OrtError("%s: output %r is not a tensor" % (path, name))
        info = _P()
        c.check(c.fn["GetTensorTypeAndShape"](value, ctypes.byref(info)), "GetTensorTypeAndShape", path)
        c.live["TensorTypeAndShapeInfo"] += 1
        try:
            et, nd, dims = _element_type_and_dims(c, info, path)
            count = _SIZE()
            c.check(c.fn["GetTensorShapeElementCount"](info, ctypes.byref(count)), "GetTensorShapeElementCount", path)
        finally:
            c.release("TensorTypeAndShapeInfo", info)
        dtype = _ONNX_TO_NP.get(et.value)
        if dtype is None:
            raise OrtError("%s: output %r has unsupported element type %d" % (path, name, et.value))
        shape = tuple(int(dims[k]) for k in range(nd.value))
        result = np.empty(shape, dtype=dtype)
        if count.value:
            data = _P()
            c.check(c.fn["GetTensorMutableData"](value, ctypes.byref(data)), "GetTensorMutableData", path)
            ctypes.memmove(result.ctypes.data, data, result.nbytes)
        return result

    def end_profiling(self) -> str:
        c = self.c
        name_p = _P()
        c.check(c.fn["SessionEndProfiling"](self.handle, c.allocator, ctypes.byref(name_p)), "SessionEndProfiling",
                self.path)
        c.live["AllocatorString"] += 1
        try:
            return ctypes.string_at(name_p).decode("utf-8") if name_p else ""
        finally:
            c.check(c.fn["AllocatorFree"](c.allocator, name_p), "AllocatorFree", self.path)
            c.live["AllocatorString"] -= 1

    def close(self):
        if self.handle:
            self.c.release("Session", self.handle)
            self.handle = None


class _PipSession:
    def __init__(self, path: str, threads: int, opt_level: int, optimized_model_path=None, profile_prefix=None,
                 config=None, custom_ops_library=None):
        import onnxruntime as ort

        self.path = path
        so = ort.SessionOptions()
        so.intra_op_num_threads = int(threads)
        so.inter_op_num_threads = 1
        so.log_severity_level = _LOG_LEVEL
        if optimized_model_path:
            so.optimized_model_filepath = str(optimized_model_path)
        if profile_prefix:
            so.enable_profiling = True
            so.profile_file_prefix = str(profile_prefix)
        for key, value in (config or {}).items():
            so.add_session_config_entry(key, str(value))
        if custom_ops_library:
            try:
                so.register_custom_ops_library(str(custom_ops_library))
            except Exception as e:
                raise OrtError("%s: ONNX Runtime could not register the custom operator library %s: %s"
                               % (path, custom_ops_library, e)) from e
        so.graph_optimization_level = {0: ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
                                       1: ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
                                       2: ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                                       99: ort.GraphOptimizationLevel.ORT_ENABLE_ALL}[opt_level]
        try:
            self.sess = ort.InferenceSession(path, sess_options=so, providers=["CPUExecutionProvider"])
        except Exception as e:
            raise OrtError("%s: ONNX Runtime CreateSession failed: %s" % (path, e)) from e

        def desc(args):
            out = []
            for a in args:
                dt = _ORT_STRING_TYPE.get(a.type)
                shape = tuple(d if isinstance(d, int) else (d if d else None) for d in (a.shape or []))
                out.append((a.name, np.dtype(dt) if dt is not None else a.type, shape))
            return out

        self.inputs = desc(self.sess.get_inputs())
        self.outputs = desc(self.sess.get_outputs())

    def run(self, feeds, output_names, out_buffers=None):
        import onnxruntime as ort

        try:
            if not out_buffers:
                return self.sess.run(output_names, feeds)
            binding = self.sess.io_binding()
            for name, a in feeds.items():
                binding.bind_cpu_input(name, a)
            for name in output_names:
                if name in out_buffers:
                    a = out_buffers[name]
                    binding.bind_output(name, "cpu", 0, a.dtype, list(a.shape), a.ctypes.data)
                else:
                    binding.bind_output(name, "cpu")
            self.sess.run_with_iobinding(binding)
            got = binding.copy_outputs_to_cpu()
            return [out_buffers[n] if n in out_buffers else got[k] for k, n in enumerate(output_names)]
        except Exception as e:
            raise OrtError("%s: ONNX Runtime Run failed: %s" % (self.path, e)) from e

    def end_profiling(self) -> str:
        return self.sess.end_profiling()

    def close(self):
        self.sess = None


def _pip_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except Exception:
        return False
    return True


class OrtGraph:
    """One ONNX graph in an ONNX Runtime CPU session.

    threads: intra-op threads; opt_level: "all" (ORT_ENABLE_ALL, default), "extended", "basic",
    "disable"; backend: None (onnxruntime package if importable, else ctypes), "onnxruntime" or
    "ctypes"; lib_path: explicit libonnxruntime for the ctypes backend; optimized_model_path: ORT
    writes the graph as optimized for this session there (to see what it fused); profile_prefix:
    ORT records a chrome-trace profile of every node run (``end_profiling()`` writes it and returns
    its path); config: session config entries (``onnxruntime_session_options_config_keys.h``);
    custom_ops_library: a custom operator library registered before the session is created (graphs
    with ``org.cosyvoice_ort`` operators need :func:`ops_library_path`'s)."""

    def __init__(self, path, threads: int = 1, opt_level: str = "all", backend: Optional[str] = None,
                 lib_path=None, optimized_model_path=None, profile_prefix=None,
                 config: Optional[Dict[str, str]] = None, custom_ops_library=None):
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise OrtError("%s: no such ONNX model file" % self.path)
        if custom_ops_library is not None and not os.path.isfile(custom_ops_library):
            raise OrtError("%s: custom operator library %s: no such file" % (self.path, custom_ops_library))
        if opt_level not in _OPT_LEVELS:
            raise ValueError("opt_level must be one of %s" % sorted(_OPT_LEVELS))
        level = _OPT_LEVELS[opt_level]
        if backend in (None, "auto"):
            backend = "onnxruntime" if _pip_available() else "ctypes"
        if backend == "onnxruntime":
            self._s = _PipSession(self.path, threads, level, optimized_model_path, profile_prefix, config,
                                  custom_ops_library)
        elif backend == "ctypes":
            self._s = _CtypesSession(self.path, threads, level, lib_path, optimized_model_path, profile_prefix,
                                     config, custom_ops_library)
        else:
            raise ValueError("backend must be None, 'onnxruntime' or 'ctypes', got %r" % (backend,))
        self.backend = backend

    @property
    def inputs(self):
        """[(name, numpy dtype, shape)]; a dynamic dimension is its symbolic name, or None."""
        return list(self._s.inputs)

    @property
    def outputs(self):
        return list(self._s.outputs)

    @property
    def input_names(self) -> List[str]:
        return [n for n, _, _ in self._s.inputs]

    @property
    def output_names(self) -> List[str]:
        return [n for n, _, _ in self._s.outputs]

    def run(self, feeds: Dict[str, np.ndarray], outputs: Optional[Sequence[str]] = None,
            out_buffers: Optional[Dict[str, np.ndarray]] = None) -> Dict[str, np.ndarray]:
        """Run with numpy feeds (every graph input by name); returns {output name: ndarray}.

        Lists and Python scalars are converted to the input's declared dtype; numpy arrays must
        already have it (a mismatch raises TypeError naming the input). ``out_buffers`` maps output
        names to preallocated C-contiguous arrays of the exact output shape that ONNX Runtime writes
        into (they may be the memory of an input, e.g. a KV cache shared by past and present); those
        arrays are returned for them."""
        declared = {n: (dt, shape) for n, dt, shape in self._s.inputs}
        missing = [n for n in declared if n not in feeds]
        unknown = [n for n in feeds if n not in declared]
        if missing or unknown:
            parts = []
            if missing:
                parts.append("missing input(s) %s" % ", ".join(repr(m) for m in missing))
            if unknown:
                parts.append("unknown input(s) %s" % ", ".join(repr(u) for u in unknown))
            raise KeyError("%s: %s; the graph's inputs are %s" % (self.path, "; ".join(parts),
                                                                  ", ".join(repr(n) for n in declared)))
        prepared = {}
        for name, value in feeds.items():
            dt, shape = declared[name]
            if isinstance(value, np.ndarray):
                if isinstance(dt, np.dtype) and value.dtype != dt:
                    raise TypeError("%s: input %r must be %s, got %s" % (self.path, name, dt, value.dtype))
                a = value
            else:
                a = np.asarray(value, dtype=dt if isinstance(dt, np.dtype) else None)
            if shape is not None and len(shape) != a.ndim:
                raise ValueError("%s: input %r must have rank %d (shape %s), got shape %s"
                                 % (self.path, name, len(shape), shape, a.shape))
            prepared[name] = a
        out_names = list(outputs) if outputs is not None else self.output_names
        bad = [o for o in out_names if o not in self.output_names]
        if bad:
            raise KeyError("%s: unknown output(s) %s; the graph's outputs are %s"
                           % (self.path, ", ".join(map(repr, bad)), ", ".join(map(repr, self.output_names))))
        unknown_buf = [o for o in (out_buffers or {}) if o not in out_names]
        if unknown_buf:
            raise KeyError("%s: out_buffers for outputs not requested: %s" % (self.path, ", ".join(map(repr, unknown_buf))))
        results = self._s.run(prepared, out_names, out_buffers) if out_buffers else self._s.run(prepared, out_names)
        return dict(zip(out_names, results))

    def end_profiling(self) -> str:
        """Stop profiling (the session was opened with ``profile_prefix``); returns the JSON file."""
        return self._s.end_profiling()

    def close(self) -> None:
        if getattr(self, "_s", None) is not None:
            self._s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
