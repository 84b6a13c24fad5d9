"""CloudEvents: parse, build, emit, the idempotent consumer and the registry of event types."""

from shared.events.envelope import EmitError, Event, build, emit, parse

__all__ = ["EmitError", "Event", "build", "emit", "parse"]
