"""Content hashes as 64-bit keys, the duplicate check's currency (``storage.seen_hashes``).

A row's ``hash`` is the MD5 hex digest of its text (``rows.content_hash``); its first 64 bits
are what the held sets compare. Both ways of decoding give the same keys: :func:`as_keys`
for a few strings, :func:`column_keys` for a whole column read from the table.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = ["as_keys", "column_keys"]


def as_keys(hashes: Iterable[str | None]) -> npt.NDArray[np.uint64]:
    """The first 64 bits of hex MD5 digests; anything else is skipped (never matched)."""
    hexes = [h[:16] for h in hashes if isinstance(h, str) and len(h) >= 16]
    try:
        raw = bytes.fromhex("".join(hexes))
    except ValueError:
        good = []
        for h in hexes:
            try:
                good.append(bytes.fromhex(h))
            except ValueError:
                continue
        raw = b"".join(good)
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64)


#: Each byte's value as a hex digit, 255 for anything else (``bytes.fromhex`` reads both cases).
_HEX = np.full(256, 255, dtype=np.uint8)
_HEX[np.frombuffer(b"0123456789abcdef", np.uint8)] = np.arange(16, dtype=np.uint8)
_HEX[np.frombuffer(b"ABCDEF", np.uint8)] = np.arange(10, 16, dtype=np.uint8)


def column_keys(column: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.uint64]:
    """:func:`as_keys` of a whole ``hash`` column, decoded in numpy, never as Python strings.

    Why: holding the whole table's hashes (``seen_hashes.ALL``) at 1M memories made a million
    Python strings twice over (each hash, then its first 16 characters): RSS rose by ~240 MB
    during a 1M store's first add, its peak (``bench/results/rss-round6.json``). Here each
    chunk's character buffer is read in place as a matrix (MD5 hex digests all have 32
    characters); only the digits are copied. A chunk with a null, short or non-hex hash, or
    hashes of unequal lengths, goes the Python way (same answer).
    """
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    return np.concatenate([_chunk_keys(c) for c in chunks] or [np.empty(0, dtype=np.uint64)])


def _chunk_keys(arr: pa.Array) -> npt.NDArray[np.uint64]:
    n = len(arr)
    wide = pa.types.is_large_string(arr.type)
    if n and arr.null_count == 0 and (wide or pa.types.is_string(arr.type)):
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64 if wide else np.int32)
        offsets = offsets[arr.offset : arr.offset + n + 1]
        width = int(offsets[1] - offsets[0])
        if width >= 16 and bool((np.diff(offsets) == width).all()):
            data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
            first = int(offsets[0])
            digits = _HEX[data[first : first + n * width].reshape(n, width)[:, :16]]
            if not (digits == 255).any():
                packed = (digits[:, 0::2] << 4) | digits[:, 1::2]
                return np.ascontiguousarray(packed).view(">u8").reshape(n).astype(np.uint64)
    return as_keys(arr.to_pylist())
