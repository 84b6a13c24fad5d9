"""Task phases and their transitions (no pydantic: request paths import this cheaply)."""

TERMINAL_PHASES = frozenset({"Succeeded", "Failed", "Cancelled"})

# Allowed phase transitions (orka-behaviour §4). Failed → Pending is a retry; Running → Pending is
# the next iteration of an autonomous plan.
TRANSITIONS: dict[str, frozenset[str]] = {
    "Pending": frozenset({"Running", "Failed", "Cancelled", "Scheduled"}),
    "Scheduled": frozenset({"Pending", "Cancelled"}),
    "Running": frozenset({"Finalizing", "Succeeded", "Failed", "Cancelled", "Pending"}),
    "Finalizing": frozenset({"Succeeded", "Failed", "Cancelled"}),
    "Failed": frozenset({"Pending"}),
    "Succeeded": frozenset(),
    "Cancelled": frozenset(),
}
