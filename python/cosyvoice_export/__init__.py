"""Python half of cosyvoice-ort.

A faithful PyTorch reference of Fun-CosyVoice3-0.5B (LLM, flow, HiFT vocoder), strict
loading of the released checkpoints, a reader for the release's HyperPyYAML config, and
the tools that feed the C++ runtime (tiny random-weight checkpoints now; ONNX export and
golden dumps are added by other commands).

Run commands with ``/usr/bin/python3 -m cosyvoice_export <command> ...``.
"""

__version__ = "0.1.0"
