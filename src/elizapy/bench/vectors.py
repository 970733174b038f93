"""The P5 benchmark vectors: the Python twin of the TS anchor's generator, bit for bit.

Both sides must search the *same* vectors, so the generator is specified in integer arithmetic (see
``packages/bench-anchors-ts/README.md``, "P5 vectors") and vectorised here with numpy.
"""

from __future__ import annotations

import numpy as np

GOLDEN = 0x9E3779B9
MASK = 0xFFFFFFFF


def _fmix32(z: np.ndarray) -> np.ndarray:
    z = z ^ (z >> np.uint64(16))
    z = (z * np.uint64(0x85EBCA6B)) & np.uint64(MASK)
    z = z ^ (z >> np.uint64(13))
    z = (z * np.uint64(0xC2B2AE35)) & np.uint64(MASK)
    return z ^ (z >> np.uint64(16))


def draws(seed: int, start: int, count: int) -> np.ndarray:
    t = np.arange(start, start + count, dtype=np.uint64)
    state = (np.uint64(seed) + (t + np.uint64(1)) * np.uint64(GOLDEN)) & np.uint64(MASK)
    return _fmix32(state)


def vectors(seed: int, n: int, dim: int = 384, *, chunk: int = 8192) -> np.ndarray:
    """``n`` unit vectors (float32, row-major) of the stream with ``seed``."""
    out = np.empty((n, dim), dtype=np.float32)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        u = draws(seed, lo * dim, (hi - lo) * dim)
        x = ((u >> np.uint64(11)).astype(np.float64) - 1048576.0) / 1048576.0
        x = x.reshape(hi - lo, dim)
        norm = np.sqrt((x * x).sum(axis=1))
        out[lo:hi] = (x / norm[:, None]).astype(np.float32)
    return out


def query_seed(seed: int) -> int:
    return (seed + 2**31) & MASK


def checksum(rows: np.ndarray) -> int:
    h = 0
    for bits in rows.astype(np.float32).view(np.uint32).ravel().tolist():
        h = (h * 31 + bits) & MASK
    return h
