"""ElizaOS-Py: a Python-native ElizaOS runtime."""

__version__ = "0.1.0"
