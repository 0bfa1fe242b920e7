"""Sets of document numbers as bitmaps: one Python int whose bit n stands for document n.

Counting a facet value, filtering by source or date and combining query terms are then single
AND, OR and bit_count operations done in C on an int of (documents / 8) bytes, where building
and intersecting frozensets of half a corpus costs milliseconds.
"""

from __future__ import annotations

from array import array

import numpy as np

# Below this many documents the plain loops cost less than going through numpy.
NUMPY_FROM = 256


def to_bits(docnums) -> int:
    """Return the bitmap of some document numbers."""
    if not isinstance(docnums, (array, np.ndarray)):
        docnums = list(docnums)
    if len(docnums) < NUMPY_FROM:
        buffer = bytearray((max(docnums, default=0) >> 3) + 1)
        for d in docnums:
            buffer[d >> 3] |= 1 << (d & 7)
        return int.from_bytes(buffer, "little")
    numbers = np.asarray(docnums, dtype=np.int64)
    flags = np.zeros(int(numbers.max()) + 1, dtype=bool)
    flags[numbers] = True
    return int.from_bytes(np.packbits(flags, bitorder="little").tobytes(), "little")


def from_bits(bits: int) -> list[int]:
    """Return the document numbers of a bitmap, in ascending order."""
    return positions(bits).tolist()


def positions(bits: int) -> np.ndarray:
    """Return the document numbers of a bitmap as an array, ascending."""
    data = np.frombuffer(bits.to_bytes((bits.bit_length() + 7) >> 3, "little"), dtype=np.uint8)
    return np.flatnonzero(np.unpackbits(data, bitorder="little"))


def membership(bits: int, size: int) -> bytes:
    """Return a bitmap as bytes, for testing many documents: `data[d >> 3] >> (d & 7) & 1`."""
    return bits.to_bytes((size >> 3) + 1, "little")
