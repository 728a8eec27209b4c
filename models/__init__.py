"""The model registry: what each ONNX model is, where it comes from, how it is checked.

Describes models (file, sha256, source URL, pre-processing, licence) and hands
out verified, cached inference sessions. Never holds the weights themselves.
"""
