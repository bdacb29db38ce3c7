"""Label Studio's brush RLE: a bit stream (thi.ng rle-pack) of the mask's RGBA pixels.

Stream layout, most significant bit first::

    32 bits  number of values (height * width * 4: the RGBA bytes, row-major)
     5 bits  word size - 1 (8 for RGBA bytes)
    4 x 4    the four run-length field sizes - 1 (Label Studio uses 3, 4, 8, 16 bits)
    chunks   1 bit repeat flag, 2 bits field index, field-size bits count - 1, then either one
             word repeated count times (flag 1) or count literal words (flag 0)

A pixel belongs to the mask when its alpha byte is non-zero, as Label Studio draws it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from keepsight.errors import AnnotationError

_FIELD_SIZES = (3, 4, 8, 16)
_WORD = 8


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.bits = format(int.from_bytes(data, "big"), f"0{len(data) * 8}b") if data else ""
        self.pos = 0

    def read(self, size: int) -> int:
        end = self.pos + size
        if end > len(self.bits):
            raise AnnotationError("brush RLE ends in the middle of a value (truncated or not Label Studio RLE)")
        value = int(self.bits[self.pos : end], 2) if size else 0
        self.pos = end
        return value


def decode_brush(rle: Sequence[int], height: int, width: int) -> np.ndarray:
    """A Label Studio brush RLE to a boolean (height, width) mask."""
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in rle):
        raise AnnotationError("brush RLE must be a list of bytes (integers 0-255)")
    bits = _Bits(bytes(rle))
    count = bits.read(32)
    word = bits.read(5) + 1
    sizes = [bits.read(4) + 1 for _ in range(4)]
    if count != height * width * 4:
        raise AnnotationError(f"brush RLE holds {count} values, expected {height}x{width}x4 = {height * width * 4}")
    values = np.zeros(count, dtype=np.uint32)
    i = 0
    while i < count:
        repeat = bits.read(1)
        end = i + 1 + bits.read(sizes[bits.read(2)])
        if end > count:
            raise AnnotationError(f"brush RLE runs past its {count} values")
        if repeat:
            values[i:end] = bits.read(word)
        else:
            values[i:end] = [bits.read(word) for _ in range(end - i)]
        i = end
    return values.reshape(height, width, 4)[:, :, 3] > 0


def encode_brush(mask: np.ndarray) -> list[int]:
    """A boolean (height, width) mask to Label Studio brush RLE (all four channels 255 inside)."""
    flat = np.asarray(mask, dtype=bool).ravel()
    header = f"{flat.size * 4:032b}{_WORD - 1:05b}" + "".join(f"{s - 1:04b}" for s in _FIELD_SIZES)
    chunks = [header]
    if flat.size:
        change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
        starts, ends = np.concatenate(([0], change)), np.concatenate((change, [flat.size]))
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            word = f"{255 if flat[start] else 0:08b}"
            remaining = (end - start) * 4
            while remaining:  # one repeat chunk holds at most 2**16 values
                n = min(remaining, 1 << _FIELD_SIZES[-1])
                index = next(k for k, size in enumerate(_FIELD_SIZES) if n <= 1 << size)
                chunks.append(f"1{index:02b}{n - 1:0{_FIELD_SIZES[index]}b}{word}")
                remaining -= n
    stream = "".join(chunks)
    stream += "0" * (-len(stream) % 8)
    return list(int(stream, 2).to_bytes(len(stream) // 8, "big"))
