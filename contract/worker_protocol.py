"""The estimate command's contract with its callers (the Blender add-on, batch.py, users' scripts): the
progress events it prints with `--progress json`, its exit statuses, and the environment variables that
default its files and interpreter. The events are documented in docs/progress_protocol.md.

One JSON object per line on stdout, each with `"event"` and the `"protocol"` version; other lines are log text.
A reader accepts events of its own protocol version and older, and refuses newer ones in words (the add-on is
then older than the worker it runs). Standard library only, so Blender's own Python (no torch) shares it.
"""
from __future__ import annotations

import json
from typing import Any

CHECKPOINT_ENV = "PARE_BODY_CHECKPOINT"  # default --checkpoint
SMPL_ENV = "PARE_BODY_SMPL"  # default --smpl
PYTHON_ENV = "PARE_BODY_PYTHON"  # the interpreter (with torch) the add-on runs the worker in

EXIT_USER_ERROR = 2  # a problem with the user's input or files; the message says what
EXIT_CANCELLED = 130  # Ctrl+C / SIGTERM: stopped, nothing written

PROTOCOL_VERSION = 1
# The fields each event has besides "event" and "protocol" (a reader ignores fields it does not know).
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "start": ("input", "output"),
    "progress": ("stage", "done", "total"),
    "done": ("output", "frames", "model", "body_model"),
    "error": ("message", "kind"),  # kind: "user", "cancelled" or "internal" (then also "traceback")
}
ERROR_KINDS = ("user", "cancelled", "internal")


class ProtocolError(ValueError):
    """A line that claims to be an event but breaks the protocol (a newer worker, or a bug)."""


def make_event(event: str, **fields: Any) -> dict[str, Any]:
    """An event of this protocol version; every field the event needs must be given."""
    missing = [name for name in EVENT_FIELDS[event] if name not in fields]
    if missing:
        raise ValueError(f"a {event} event needs {', '.join(missing)}")
    return {"event": event, "protocol": PROTOCOL_VERSION, **fields}


def encode_event(event: dict[str, Any]) -> str:
    return json.dumps(event)


def parse_event(line: str) -> dict[str, Any] | None:
    """One stdout line -> its event; None for log text. ProtocolError for an event this reader cannot trust."""
    try:
        event = json.loads(line)
    except ValueError:
        return None
    if not isinstance(event, dict) or "event" not in event:
        return None
    version = event.get("protocol")
    if not isinstance(version, int) or version > PROTOCOL_VERSION:
        raise ProtocolError(f"the inference worker speaks progress protocol {version!r}, this add-on "
                            f"understands up to {PROTOCOL_VERSION}: update the add-on to match the worker")
    fields = EVENT_FIELDS.get(event["event"])
    if fields is None or any(name not in event for name in fields):
        raise ProtocolError(f"the inference worker sent a malformed event: {line[:200]}")
    return event
