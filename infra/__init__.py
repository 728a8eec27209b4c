"""The service's settings, its runtime (the wired parts one process shares) and the adapters
to third parties: SMS providers, WeChat, the national upload, Redis limits, the task queue and
the face engine. Below api/, worker/ and console/; above storage/ and certification/."""
