"""Where the check reads a file from: its bytes in memory, or a local file, a chunk at a time.

A check holds a few chunks of a file, never the whole of it: every scan (for line ends,
quotes, bytes that are not UTF-8, the line a message quotes) and the blocks of lines are
read CHUNK_BYTES at a time, whatever the file's size.
"""

import io
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

# Bytes read at a time: the blocks of lines, and the scans for line ends, quotes and UTF-8.
CHUNK_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Source:
    """A file's bytes, in memory or in a local file, whose header follows `skip_lines` lines
    that hold no readings (file.csv.skip.rows)."""

    content: bytes | Path
    skip_lines: int = 0

    @property
    def header_line(self) -> int:
        return self.skip_lines + 1

    @cached_property
    def header_start(self) -> int:
        """The offset of the header's first byte: after the skipped lines' line ends."""
        left, offset = self.skip_lines, 0
        for chunk in self.chunks() if left else ():
            ends = np.flatnonzero(np.frombuffer(chunk, np.uint8) == ord("\n"))
            if left <= len(ends):
                return offset + int(ends[left - 1]) + 1
            left -= len(ends)
            offset += len(chunk)
        return offset

    def chunks(self, start: int = 0) -> Iterator[bytes]:
        if isinstance(self.content, bytes):
            if start == 0 and len(self.content) <= CHUNK_BYTES:
                yield self.content
                return
            for offset in range(start, len(self.content), CHUNK_BYTES):
                yield self.content[offset : offset + CHUNK_BYTES]
            return
        with open(self.content, "rb") as file:
            file.seek(start)
            while chunk := file.read(CHUNK_BYTES):
                yield chunk

    def header(self) -> bytes:
        """The header line's bytes before its LF (all of the rest if there is none)."""
        return self._line_from(self.header_start)

    def line_holding(self, position: int) -> tuple[int, bytes]:
        """The number of the line that holds the byte at `position`, and its bytes."""
        line, start, offset = 1, 0, 0
        for chunk in self.chunks():
            before = chunk[: position - offset]
            line += before.count(b"\n")
            newline = before.rfind(b"\n")
            if newline >= 0:
                start = offset + newline + 1
            offset += len(chunk)
            if offset > position:
                break
        return line, self._line_from(start)

    def line_numbered(self, number: int) -> bytes:
        """The bytes of line `number` (a reading's: 2 or later), without its line end."""
        ends_before, offset = number - 1, 0
        for chunk in self.chunks():
            ends = np.flatnonzero(np.frombuffer(chunk, np.uint8) == ord("\n"))
            if ends_before <= len(ends):
                start = offset + int(ends[ends_before - 1]) + 1
                return self._line_from(start).removesuffix(b"\r")
            ends_before -= len(ends)
            offset += len(chunk)
        return b""

    def _line_from(self, start: int) -> bytes:
        found = b""
        for chunk in self.chunks(start):
            end = chunk.find(b"\n")
            if end >= 0:
                return found + chunk[:end]
            found += chunk
        return found

    def text(self) -> io.TextIOBase:
        """The file as text from its header on, without a byte order mark, lines
        untranslated (for csv)."""
        raw: io.BufferedIOBase
        if isinstance(self.content, bytes):
            raw = io.BytesIO(self.content)
        else:
            raw = open(self.content, "rb")  # noqa: SIM115 (closed with the wrapper)
        raw.seek(self.header_start)
        return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")

    def for_polars(self) -> bytes | str:
        return self.content if isinstance(self.content, bytes) else str(self.content)
