"""ONNX Runtime runner.  Graphs are built here with onnx.helper and compared with numpy.  The ctypes
backend is always exercised explicitly; the onnxruntime-package adapter is exercised through a
stand-in module with the same API (the package itself is not installable here)."""
import gc
import sys
import types

import numpy as np

import fp32
import pytest

import _front_helpers as H
from cosyvoice_export import ort as O

onnx = pytest.importorskip("onnx")
from onnx import TensorProto as TP, helper, numpy_helper  # noqa: E402


def _lib_available():
    try:
        O.find_onnxruntime_library()
        return True
    except O.OrtError:
        return False


pytestmark = pytest.mark.skipif(not _lib_available(),
                                reason="libonnxruntime.so.1 not found (scripts/setup/fetch-onnxruntime.sh)")


def _save(tmp_path, name, nodes, inputs, outputs, initializers=()):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=list(initializers))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="cosyvoice-test")
    m.ir_version = 8
    onnx.checker.check_model(m)
    p = tmp_path / (name + ".onnx")
    onnx.save(m, str(p))
    return p


def _vi(name, t, shape):
    return helper.make_tensor_value_info(name, t, shape)


@pytest.fixture()
def zoo(tmp_path):
    """A few small graphs covering the supported dtypes."""
    g = {}
    g["add"] = _save(tmp_path, "add", [helper.make_node("Add", ["a", "b"], ["y"])],
                     [_vi("a", TP.FLOAT, ["N", "C"]), _vi("b", TP.FLOAT, ["N", "C"])], [_vi("y", TP.FLOAT, ["N", "C"])])
    w = np.arange(12, dtype=np.float64).reshape(4, 3) / 7.0
    g["matmul"] = _save(tmp_path, "matmul", [helper.make_node("MatMul", ["x", "w"], ["y"])],
                        [_vi("x", TP.DOUBLE, ["T", 4])], [_vi("y", TP.DOUBLE, ["T", 3])],
                        [numpy_helper.from_array(w, "w")])
    g["cast"] = _save(tmp_path, "cast", [helper.make_node("Cast", ["x"], ["i32"], to=TP.INT32),
                                         helper.make_node("Cast", ["x"], ["i64"], to=TP.INT64),
                                         helper.make_node("Cast", ["x"], ["f64"], to=TP.DOUBLE)],
                      [_vi("x", TP.FLOAT, [None])],
                      [_vi("i32", TP.INT32, [None]), _vi("i64", TP.INT64, [None]), _vi("f64", TP.DOUBLE, [None])])
    g["gather"] = _save(tmp_path, "gather", [helper.make_node("Gather", ["table", "idx"], ["rows"], axis=0),
                                             helper.make_node("Add", ["idx", "one"], ["idx1"])],
                        [_vi("table", TP.FLOAT, ["V", "D"]), _vi("idx", TP.INT64, ["B", "L"])],
                        [_vi("rows", TP.FLOAT, ["B", "L", "D"]), _vi("idx1", TP.INT64, ["B", "L"])],
                        [numpy_helper.from_array(np.array(1, np.int64), "one")])
    g["scalar"] = _save(tmp_path, "scalar", [helper.make_node("Identity", ["s"], ["t"]),
                                             helper.make_node("Shape", ["s"], ["rank0"])],
                        [_vi("s", TP.FLOAT, [])], [_vi("t", TP.FLOAT, []), _vi("rank0", TP.INT64, [None])])
    g["bool"] = _save(tmp_path, "bool", [helper.make_node("Greater", ["x", "thr"], ["gt"]),
                                         helper.make_node("Not", ["gt"], ["le"]),
                                         helper.make_node("And", ["le", "mask"], ["both"]),
                                         helper.make_node("Add", ["n", "n"], ["n2"])],
                      [_vi("x", TP.FLOAT, ["N"]), _vi("thr", TP.FLOAT, []), _vi("mask", TP.BOOL, ["N"]),
                       _vi("n", TP.INT32, ["N"])],
                      [_vi("gt", TP.BOOL, ["N"]), _vi("both", TP.BOOL, ["N"]), _vi("n2", TP.INT32, ["N"])])
    return g


def _ctypes(path, **kw):
    return O.OrtGraph(path, backend="ctypes", **kw)


# ------------------------------------------------------------------------------------ C API indices

def test_hard_coded_indices_match_the_header():
    if not H.ORT_HEADER.exists():
        pytest.skip("ONNX Runtime headers missing (scripts/setup/fetch-onnxruntime.sh)")
    derived = O.derive_ortapi_indices(H.ORT_HEADER)
    assert len(derived) >= 285                      # ORT_API_VERSION 21 has 285 members
    for name, idx in O.ORTAPI_INDEX.items():
        assert derived[name] == idx, name
    assert derived["CreateStatus"] == 0 and derived["Run"] == 9


# ------------------------------------------------------------------------------------ numerics

def test_add_dynamic_shapes_and_metadata(zoo):
    g = _ctypes(zoo["add"])
    assert g.backend == "ctypes"
    assert g.input_names == ["a", "b"] and g.output_names == ["y"]
    assert g.inputs == [("a", np.dtype(np.float32), ("N", "C")), ("b", np.dtype(np.float32), ("N", "C"))]
    for shape in [(1, 1), (3, 5), (7, 2), (0, 4)]:
        a = np.random.RandomState(0).randn(*shape).astype(np.float32)
        b = np.random.RandomState(1).randn(*shape).astype(np.float32)
        out = g.run({"a": a, "b": b})
        assert out["y"].shape == shape and out["y"].dtype == np.float32
        np.testing.assert_array_equal(out["y"], a + b)


def test_matmul_float64_with_initializer(zoo):
    g = _ctypes(zoo["matmul"], threads=2)
    assert g.inputs == [("x", np.dtype(np.float64), ("T", 4))]
    w = np.arange(12, dtype=np.float64).reshape(4, 3) / 7.0
    for t in (1, 5, 33):
        x = np.random.RandomState(t).randn(t, 4)
        y = g.run({"x": x})["y"]
        assert y.dtype == np.float64
        # two float64 evaluations of a 4-term dot product: pair(4) with the float64 roundoff
        bound = 2 * fp32.gamma(4, fp32.U64) * (np.abs(x) @ np.abs(w))
        fp32.assert_within(y, x @ w, bound, "float64 matmul")


def test_cast_outputs_and_output_selection(zoo):
    g = _ctypes(zoo["cast"])
    x = np.array([-2.5, -1.0, 0.0, 1.9, 3.0, 1e6], np.float32)
    out = g.run({"x": x})
    assert out["i32"].dtype == np.int32 and out["i64"].dtype == np.int64 and out["f64"].dtype == np.float64
    np.testing.assert_array_equal(out["i32"], x.astype(np.int32))
    np.testing.assert_array_equal(out["i64"], x.astype(np.int64))
    np.testing.assert_array_equal(out["f64"], x.astype(np.float64))
    only = g.run({"x": x}, outputs=["f64"])
    assert list(only) == ["f64"]
    with pytest.raises(KeyError, match="nope"):
        g.run({"x": x}, outputs=["nope"])


def test_gather_with_int64_indices(zoo):
    g = _ctypes(zoo["gather"])
    table = np.random.RandomState(3).randn(10, 6).astype(np.float32)
    idx = np.array([[0, 9, 3], [3, 3, 1]], np.int64)
    out = g.run({"table": table, "idx": idx})
    np.testing.assert_array_equal(out["rows"], table[idx])
    np.testing.assert_array_equal(out["idx1"], idx + 1)
    assert out["idx1"].dtype == np.int64


def test_bool_and_int32_io_and_scalar_input(zoo):
    g = _ctypes(zoo["bool"])
    x = np.array([0.1, 0.5, 0.9, -1.0], np.float32)
    mask = np.array([True, True, False, True])
    n = np.array([1, -2, 3, 2 ** 30], np.int32)
    out = g.run({"x": x, "thr": np.float32(0.4), "mask": mask, "n": n})
    np.testing.assert_array_equal(out["gt"], x > 0.4)
    np.testing.assert_array_equal(out["both"], (x <= 0.4) & mask)
    np.testing.assert_array_equal(out["n2"], n + n)
    assert out["gt"].dtype == np.bool_ and out["n2"].dtype == np.int32
    # lists and Python scalars are converted to the declared dtype
    out2 = g.run({"x": [0.1, 0.5, 0.9, -1.0], "thr": 0.4, "mask": [True, True, False, True], "n": [1, -2, 3, 2 ** 30]})
    for k in out:
        np.testing.assert_array_equal(out2[k], out[k])


def test_rank0_and_non_contiguous_inputs(zoo):
    g = _ctypes(zoo["scalar"], opt_level="disable")
    out = g.run({"s": np.float32(2.5)})
    assert out["t"].shape == () and out["t"] == np.float32(2.5)
    assert out["rank0"].shape == (0,)                    # the input really arrived with rank 0
    a = np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2]   # a strided view
    y = _ctypes(zoo["add"]).run({"a": a, "b": a.T.copy().T})["y"]
    np.testing.assert_array_equal(y, 2 * a)


def test_optimization_levels_agree(zoo):
    a = np.random.RandomState(5).randn(4, 3).astype(np.float32)
    ref = _ctypes(zoo["add"], opt_level="all").run({"a": a, "b": a})["y"]
    for level in ("disable", "basic", "extended"):
        np.testing.assert_array_equal(_ctypes(zoo["add"], opt_level=level).run({"a": a, "b": a})["y"], ref)
    with pytest.raises(ValueError):
        _ctypes(zoo["add"], opt_level="max")


# ------------------------------------------------------------------------------------ errors

def test_missing_and_unknown_inputs_are_named(zoo):
    g = _ctypes(zoo["add"])
    a = np.zeros((2, 2), np.float32)
    with pytest.raises(KeyError) as e:
        g.run({"a": a})
    assert "'b'" in str(e.value) and "add.onnx" in str(e.value)
    with pytest.raises(KeyError) as e:
        g.run({"a": a, "b": a, "c": a})
    assert "'c'" in str(e.value)
    with pytest.raises(TypeError, match="'a' must be float32"):
        g.run({"a": a.astype(np.float64), "b": a})
    with pytest.raises(ValueError, match="rank"):
        g.run({"a": a[0], "b": a})


def test_ort_errors_carry_message_and_model_path(zoo, tmp_path):
    g = _ctypes(zoo["add"])
    with pytest.raises(O.OrtError) as e:               # incompatible shapes: ORT's own error
        g.run({"a": np.zeros((2, 3), np.float32), "b": np.zeros((4, 5), np.float32)})
    msg = str(e.value)
    assert "add.onnx" in msg and "Run" in msg and len(msg) > 40
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"this is not a protobuf")
    with pytest.raises(O.OrtError) as e:
        _ctypes(bad)
    assert "broken.onnx" in str(e.value) and "CreateSession" in str(e.value)
    with pytest.raises(O.OrtError, match="no such ONNX model"):
        O.OrtGraph(tmp_path / "absent.onnx")
    assert O.ctypes_live_objects()["Status"] == 0


# ------------------------------------------------------------------------------------ resources

def test_every_handle_is_released(zoo):
    gc.collect()   # sessions of earlier tests kept alive by exception tracebacks (reference cycles)
    before = O.ctypes_live_objects()
    g = _ctypes(zoo["gather"])
    table = np.ones((10, 6), np.float32)
    for _ in range(20):
        g.run({"table": table, "idx": np.array([[1, 2]], np.int64)})
    with pytest.raises(O.OrtError):
        g.run({"table": table, "idx": np.array([[1, 20]], np.int64)})   # index out of range
    mid = O.ctypes_live_objects()
    assert mid["Session"] == before["Session"] + 1
    for k in ("Status", "Value", "TypeInfo", "TensorTypeAndShapeInfo", "SessionOptions", "AllocatorString"):
        assert mid[k] == before[k] == 0, k
    g.close()
    g.close()                                            # idempotent
    assert O.ctypes_live_objects() == before
    with pytest.raises(O.OrtError, match="closed"):
        g.run({"table": table, "idx": np.array([[1]], np.int64)})


def test_no_memory_growth_over_many_runs(zoo):
    g = _ctypes(zoo["add"])
    a = np.ones((1024, 1024), np.float32)               # 4 MiB in, 4 MiB out per run
    for _ in range(5):
        g.run({"a": a, "b": a})
    base = H.rss_bytes()
    for _ in range(100):
        g.run({"a": a, "b": a})
    assert H.rss_bytes() - base < 100 * 2 ** 20          # a leak would be ~800 MiB


# ------------------------------------------------------------------------------------ backend choice

class _FakeNodeArg:
    def __init__(self, name, type_, shape):
        self.name, self.type, self.shape = name, type_, shape


def _fake_onnxruntime():
    """A stand-in for the onnxruntime package (its documented Python API), backed by ctypes."""
    m = types.ModuleType("onnxruntime")
    calls = {}

    class GraphOptimizationLevel:
        ORT_DISABLE_ALL, ORT_ENABLE_BASIC, ORT_ENABLE_EXTENDED, ORT_ENABLE_ALL = 0, 1, 2, 99

    class SessionOptions:
        def register_custom_ops_library(self, path):
            calls.setdefault("custom_ops", []).append(path)

    names = {np.dtype(np.float32): "tensor(float)", np.dtype(np.int64): "tensor(int64)",
             np.dtype(np.bool_): "tensor(bool)", np.dtype(np.int32): "tensor(int32)"}

    class InferenceSession:
        def __init__(self, path, sess_options=None, providers=None):
            calls.update(path=path, opts=vars(sess_options), providers=providers)
            self._g = O.OrtGraph(path, backend="ctypes")

        def get_inputs(self):
            return [_FakeNodeArg(n, names[d], [s if s is not None else None for s in shp]) for n, d, shp in self._g.inputs]

        def get_outputs(self):
            return [_FakeNodeArg(n, names[d], list(shp)) for n, d, shp in self._g.outputs]

        def run(self, output_names, feeds):
            out = self._g.run(feeds, outputs=output_names)
            return [out[k] for k in output_names]

    m.GraphOptimizationLevel = GraphOptimizationLevel
    m.SessionOptions = SessionOptions
    m.InferenceSession = InferenceSession
    return m, calls


def test_auto_backend_prefers_the_onnxruntime_package(zoo, monkeypatch):
    fake, calls = _fake_onnxruntime()
    monkeypatch.setitem(sys.modules, "onnxruntime", fake)
    g = O.OrtGraph(zoo["bool"], threads=3)
    assert g.backend == "onnxruntime"
    assert calls["providers"] == ["CPUExecutionProvider"]
    assert calls["opts"]["intra_op_num_threads"] == 3 and calls["opts"]["graph_optimization_level"] == 99
    assert g.inputs == _ctypes(zoo["bool"]).inputs
    x = np.array([0.1, 0.9], np.float32)
    out = g.run({"x": x, "thr": np.float32(0.5), "mask": np.array([True, True]), "n": np.array([1, 2], np.int32)})
    np.testing.assert_array_equal(out["gt"], [False, True])
    # the ctypes backend stays selectable explicitly
    assert O.OrtGraph(zoo["bool"], backend="ctypes").backend == "ctypes"


def test_custom_ops_library_is_registered(zoo, monkeypatch, tmp_path):
    """Both backends hand the library to ONNX Runtime before the session exists; a missing file or one
    ORT cannot load is an OrtError naming it (the graphs that need it are run in test_winograd.py)."""
    lib = tmp_path / "libops.so"
    lib.write_bytes(b"not a shared object")
    with pytest.raises(O.OrtError, match="custom operator library .*nowhere.so: no such file"):
        _ctypes(zoo["add"], custom_ops_library=tmp_path / "nowhere.so")
    with pytest.raises(O.OrtError, match=r"RegisterCustomOpsLibrary_V2\(.*libops.so\) failed"):
        _ctypes(zoo["add"], custom_ops_library=lib)
    fake, calls = _fake_onnxruntime()
    monkeypatch.setitem(sys.modules, "onnxruntime", fake)
    assert O.OrtGraph(zoo["add"], custom_ops_library=lib).backend == "onnxruntime"
    assert calls["custom_ops"] == [str(lib)]


def test_auto_backend_falls_back_to_ctypes(zoo, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)     # makes "import onnxruntime" fail
    assert O.OrtGraph(zoo["add"]).backend == "ctypes"
    with pytest.raises(ValueError):
        O.OrtGraph(zoo["add"], backend="tensorrt")


def test_library_lookup_order(monkeypatch, tmp_path):
    default = O.find_onnxruntime_library()
    assert default.name.startswith("libonnxruntime.so")
    (tmp_path / "lib").mkdir()
    fake = tmp_path / "lib" / "libonnxruntime.so.1"
    fake.write_bytes(b"")
    monkeypatch.setenv("ONNXRUNTIME_ROOT", str(tmp_path))
    assert O.find_onnxruntime_library() == fake
    monkeypatch.setenv("ONNXRUNTIME_ROOT", str(tmp_path / "nowhere"))
    assert O.find_onnxruntime_library() == default
