"""Graph rewrites that make the quantized and half-precision variants of a bundle's graphs.

Only ``onnx`` and ``numpy`` are used (no ``onnxruntime`` Python package is needed); the graphs are
run through :mod:`cosyvoice_export.ort` to check them.

* :mod:`.weights`: find the MatMul/Gemm nodes whose right-hand side is a weight initializer.
* :mod:`.int8`: int8 weights for those nodes, two routes: ``DynamicQuantizeMatMul`` (activations
  quantized to uint8 per call, weights int8 per output column, 7-bit range so that the AVX2
  ``VPMADDUBSW`` kernel cannot saturate) and ``MatMulNBits`` with ``bits = 8``.
* :mod:`.fp16`: float16 weights and activations with float32 graph inputs/outputs and float32
  islands around the operators that need the range (for GPU execution providers).
* :mod:`.winograd`: the HiFT generator's 1-D convolutions as this project's custom operator
  ``org.cosyvoice_ort.WinogradConv1d`` (float32; run and checked with ``libcosyvoice_ops.so``).
* :mod:`.panels`: the weight layout of ``org.cosyvoice_ort.PanelMatMul``, the float32 products of the
  LLM variant ``fp32-panel`` (nothing for ONNX Runtime to pack when a session is created).
"""
