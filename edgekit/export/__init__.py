"""Export: PyTorch to Core ML (and its compressed variants) and ONNX."""
