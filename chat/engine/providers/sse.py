"""Server-sent events parsed to the WHATWG spec: multi-line data, event names, comments, empty data."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerEvent:
    event: str  # "message" when the server named none
    data: str


def parse(lines: Iterable[str]) -> Iterator[ServerEvent]:
    """Events from lines (without their line endings); an event with no data is skipped."""
    event, data = "", []
    for line in lines:
        if not line:
            text = "\n".join(data)
            if text:
                yield ServerEvent(event or "message", text)
            event, data = "", []
            continue
        if line.startswith(":"):
            continue  # a comment, e.g. a keep-alive
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
    if "".join(data):  # a last event the server did not close with a blank line
        yield ServerEvent(event or "message", "\n".join(data))
