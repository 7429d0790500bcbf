"""PyTorch reference models of CosyVoice3 (eval-mode inference, float32; HiFT's F0 predictor in float64).

Every class takes its config dataclass from :mod:`cosyvoice_export.hparams` and an optional
``device``; ``device="meta"`` builds the module without allocating weights (used for
parameter counts and for zero-copy checkpoint loading).
"""

from .llm import CosyVoice3LM, KVCache
from .flow import CausalMaskedDiffWithDiT, CausalConditionalCFM, PreLookaheadLayer, FlowInputs, time_grid
from .dit import DiT, attention_mask, chunk_mask
from .hift import CausalHiFTGenerator, weight_norm_module_names

__all__ = ["CosyVoice3LM", "KVCache", "CausalMaskedDiffWithDiT", "CausalConditionalCFM", "PreLookaheadLayer",
           "FlowInputs", "time_grid", "DiT", "attention_mask", "chunk_mask", "CausalHiFTGenerator",
           "weight_norm_module_names"]
