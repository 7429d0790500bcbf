"""The exporter checks the release's frontend graphs by position (names may differ)."""
import onnx
import pytest
from onnx import TensorProto, helper

from cosyvoice_export.export import bundle


def _tokenizer_graph(path, in_names=("feats", "feats_length"), out_type=TensorProto.INT32, feats_rank=3):
    feats_shape = [1, 128, "T"][:feats_rank]
    g = helper.make_graph(
        [helper.make_node("Shape", [in_names[0]], ["s"]),
         helper.make_node("Cast", ["s"], ["c"], to=out_type),
         helper.make_node("Unsqueeze", ["c", "axes"], ["out"])],
        "tok",
        [helper.make_tensor_value_info(in_names[0], TensorProto.FLOAT, feats_shape),
         helper.make_tensor_value_info(in_names[1], TensorProto.INT32, [1])],
        [helper.make_tensor_value_info("out", out_type, [1, feats_rank])],
        initializer=[helper.make_tensor("axes", TensorProto.INT64, [1], [0])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_other_names_are_accepted_and_reported(tmp_path, capsys):
    p = _tokenizer_graph(tmp_path / "speech_tokenizer_v3.onnx", in_names=("x", "x_len"), out_type=TensorProto.INT64)
    bundle._check_frontend_graph(p, "speech_tokenizer_v3.onnx")
    out = capsys.readouterr().out
    assert "input 0 is named 'x' (usually 'feats')" in out
    assert "output 0 is named 'out' (usually 'indices')" in out


def test_wrong_type_or_rank_is_refused_naming_the_tensor(tmp_path):
    p = _tokenizer_graph(tmp_path / "speech_tokenizer_v3.onnx", out_type=TensorProto.FLOAT)
    with pytest.raises(bundle.ExportError, match=r"output 0 \(out\) has element type FLOAT and rank 2, expected INT32 or INT64"):
        bundle._check_frontend_graph(p, "speech_tokenizer_v3.onnx")
    p = _tokenizer_graph(tmp_path / "t2.onnx", feats_rank=2)
    with pytest.raises(bundle.ExportError, match=r"input 0 \(feats\) has element type FLOAT and rank 2, expected FLOAT rank 3"):
        bundle._check_frontend_graph(p, "speech_tokenizer_v3.onnx")
