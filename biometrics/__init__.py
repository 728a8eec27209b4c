"""Selfie video in, verdict out: decode, track, quality, challenge, passive liveness, match.

Knows nothing about people or periods; asks ``models`` for ONNX sessions.
"""
