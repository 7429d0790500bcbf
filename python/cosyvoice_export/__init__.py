"""cosyvoice_export: PyTorch/numpy reference pipeline and exporter for CosyVoice3 (cosyvoice-ort)."""
