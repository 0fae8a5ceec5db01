"""Quantized variants of a converted Core ML program (placeholder list; see issue 5)."""

VARIANTS = ("fp32", "fp16", "int8", "palette6", "palette4", "w8a8")
