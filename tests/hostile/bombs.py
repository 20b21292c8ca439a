"""Oversized and decompression-bomb answers, built in milliseconds.

A deflate stream of zeros compressed with a full flush every MiB repeats the same bytes for
each MiB, so a GiB bomb is one MiB's compressed block repeated (valid streams, checksums and
all) instead of a GiB compressed for seconds.
"""

from __future__ import annotations

import functools
import struct
import zlib

MIB = 1 << 20


@functools.cache
def _zero_block() -> tuple[bytes, bytes]:
    """The raw deflate bytes of one MiB of zeros after a full flush, and of the final block."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = compressor.compress(bytes(MIB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return block, compressor.flush()


def raw_deflate_zeros(mib: int) -> bytes:
    """Raw deflate (no wrapper) of `mib` MiB of zeros."""
    block, final = _zero_block()
    return block * mib + final


def zlib_zeros(mib: int) -> bytes:
    """zlib-wrapped deflate of `mib` MiB of zeros (Adler-32 of n zeros is n mod 65521, 1)."""
    adler = ((mib * MIB) % 65521) << 16 | 1
    return b"\x78\xda" + raw_deflate_zeros(mib) + struct.pack(">I", adler)


@functools.cache
def gzip_zeros(mib: int) -> bytes:
    """gzip of `mib` MiB of zeros."""
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(bytes(MIB), crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, (mib * MIB) & 0xFFFFFFFF)
    return header + raw_deflate_zeros(mib) + trailer


def gzip_of(data: bytes) -> bytes:
    """`data` gzipped."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@functools.cache
def double_gzip_zeros(mib: int) -> bytes:
    """`Content-Encoding: gzip, gzip` of `mib` MiB of zeros: a few KB on the wire."""
    return gzip_of(gzip_zeros(mib))
