"""When a source deserves a health alert: it failed `failures` polls in a row, or its page
loads but the ticker was not found `layout` polls in a row (the layout changed); and when it
works again. One alert per change of state, never repeated while the state lasts.

An empty ticker (no breaking news right now) is a successful poll, not a failure.
"""

from __future__ import annotations

from dataclasses import dataclass

from ticker.store import SourceState


@dataclass(frozen=True)
class HealthChange:
    """A source's new health ("ok", "down", "layout") and the alert text that says so."""

    health: str
    text: str


def assess(state: SourceState, failures: int, layout: int) -> str:
    """The health `state` shows: "layout" or "down" once a limit is reached, "ok" after a
    success, else unchanged (a failure or two does not end an outage nor start one)."""
    if state.layout_failures >= layout:
        return "layout"
    if state.consecutive_failures >= failures:
        return "down"
    if state.consecutive_failures == 0:
        return "ok"
    return state.health


def health_change(
    state: SourceState, failures: int, layout: int, advice: str = "update how it finds its lines"
) -> HealthChange | None:
    """The alert to raise for `state`, or None if its health did not change. `advice` is
    the source kind's word on what to change when its lines are not found."""
    health = assess(state, failures, layout)
    if health == state.health:
        return None
    name = state.name
    if health == "layout":
        text = (
            f"{name}: the page loads but its ticker was not found {state.layout_failures} "
            "times in a row; the site's layout may have changed. Check with "
            f"`ticker poll --dry-run --source {name}` and {advice}."
        )
    elif health == "down":
        text = (
            f"{name} cannot be polled ({state.consecutive_failures} failures in a row): "
            f"{state.last_error}. ticker keeps trying and will say when it works again."
        )
    else:
        text = f"{name} works again; alerts from it resume."
    return HealthChange(health, text)
