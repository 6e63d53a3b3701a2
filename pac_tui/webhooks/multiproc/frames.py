"""The messages between the receiver processes of `webhook serve --workers N` and its writer.

Messages are length-prefixed `marshal` frames (both ends are this package, same interpreter):
worker → writer `("ready",)` once listening, `(request_id, insert?, params)` per write;
writer → worker `(True, [(request_id, result), ...])` per committed batch (a str result: that
write alone failed), or `(False, message,
[request_id, ...])` for a batch that failed.
"""

from __future__ import annotations

import marshal
import struct
from typing import Any

_LENGTH = struct.Struct("!I")


def frame(message: object) -> bytes:
    data = marshal.dumps(message)
    return _LENGTH.pack(len(data)) + data


class Frames:
    """Splits a byte stream into the messages `frame` made."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Any]:
        buffer = self._buffer
        buffer += data
        messages = []
        pos = 0
        while len(buffer) - pos >= _LENGTH.size:
            (size,) = _LENGTH.unpack_from(buffer, pos)
            end = pos + _LENGTH.size + size
            if end > len(buffer):
                break
            # only ever from this package's other end of a socketpair
            messages.append(marshal.loads(buffer[pos + _LENGTH.size : end]))  # noqa: S302
            pos = end
        del buffer[:pos]
        return messages
