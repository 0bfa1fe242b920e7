"""Sets of document numbers as bitmaps: one Python int whose bit n stands for document n.

Counting a facet value, filtering by source or date and combining query terms are then single
AND, OR and bit_count operations done in C on an int of (documents / 8) bytes, where building
and intersecting frozensets of half a corpus costs milliseconds.
"""

from __future__ import annotations

# The document numbers each byte value stands for, to turn a bitmap back into numbers.
_BYTE_BITS = tuple(tuple(i for i in range(8) if value >> i & 1) for value in range(256))


def to_bits(docnums) -> int:
    """Return the bitmap of some document numbers."""
    docnums = list(docnums)
    buffer = bytearray((max(docnums, default=0) >> 3) + 1)
    for d in docnums:
        buffer[d >> 3] |= 1 << (d & 7)
    return int.from_bytes(buffer, "little")


def from_bits(bits: int) -> list[int]:
    """Return the document numbers of a bitmap, in ascending order."""
    data = bits.to_bytes((bits.bit_length() + 7) >> 3, "little")
    return [i << 3 | b for i, byte in enumerate(data) if byte for b in _BYTE_BITS[byte]]


def membership(bits: int, size: int) -> bytes:
    """Return a bitmap as bytes, for testing many documents: `data[d >> 3] >> (d & 7) & 1`."""
    return bits.to_bytes((size >> 3) + 1, "little")
