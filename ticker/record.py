"""What a poll's lines become: new, update, duplicate or "also" (another source told the
story first), and which alerts and deliveries each one gets.

The policy every storage engine shares. An engine reads the facts a line is judged against
(`History`: earlier items through its term index, the item that began a story, the
channels told it already) and writes what `decide` returns, in one transaction per poll;
nothing here touches a database, so each rule is tested with a few dicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ticker.lines import Line

if TYPE_CHECKING:
    from ticker.dedupe import Candidate, Judge, Verdict
    from ticker.route import Router

ALSO = "also"  # the kind of an item another source told first, and of its follow-up alert


class History(Protocol):
    """What `decide` reads of the log of one source's poll (an engine's reads, inside the
    poll's transaction, so a line sees the older lines of its own poll)."""

    source: str

    def candidates(self, terms: set[str], since: float) -> list[Candidate]:
        """Items of the source seen since `since` sharing the rarest of `terms`."""
        ...

    def candidates_across(self, terms: set[str], since: float) -> list[Candidate]:
        """Items of the other sources seen since `since` sharing the rarest of `terms`."""
        ...

    def story_root(self, item_id: int) -> tuple[int, str] | None:
        """The item (id, source) that told the story of `item_id` first."""
        ...

    def story_channels(self, root: int) -> set[str]:
        """The channels given the story of item `root` already."""
        ...


@dataclass(frozen=True)
class Policy:
    """How one source's new lines are judged and routed: `judge` de-duplicates (None: a
    line is new unless its key names an earlier item), `route` names a line's channels by
    its kind, and with `across` (and a judge) a line is compared with the other sources'
    recent lines too (`[dedupe] across_sources`)."""

    route: Router
    judge: Judge | None = None
    across: bool = False

    def terms(self, line: Line) -> set[str]:
        """The index terms of `line` (none without a judge)."""
        return self.judge.terms(line) if self.judge is not None else set()


def policy_of(
    channels: Sequence[str] | Router,
    update_channels: Sequence[str] | None = None,
    judge: Judge | None = None,
    across: bool = False,
) -> Policy:
    """The policy of `Store.record_poll`'s short form: a Router as given, or fixed channel
    names: a new story goes to `channels`, an update to `update_channels` (default:
    `channels`), and no "also" follow-up anywhere."""
    if callable(channels):
        return Policy(channels, judge, across)
    news = tuple(channels)
    targets = {"new": news, "update": news if update_channels is None else tuple(update_channels)}
    return Policy(lambda line, kind: targets.get(kind, ()), judge, across)


@dataclass(frozen=True)
class AlertPlan:
    """An alert to write for a line: its kind, the item it updates (for kind "also", the
    story's first item), what changed, and a pending delivery to each of `channels`."""

    kind: str
    channels: Sequence[str]
    updates_item: int | None = None
    changes: str | None = None


@dataclass(frozen=True)
class Decision:
    """What a new line becomes: an item of `kind` (related to another by `verdict`; for
    kind "also", `also_of` is the story's first item), filed under `terms`; `alert` is the
    line's own alert (its id is the line's), `follow_up` a short "also reported by" alert
    to the channels told the story already. No alert: a duplicate, or a silent baseline."""

    kind: str
    verdict: Verdict | None = None
    also_of: int | None = None
    terms: set[str] = field(default_factory=set)
    alert: AlertPlan | None = None
    follow_up: AlertPlan | None = None

    @property
    def of_item(self) -> int | None:
        """The item this line updates or duplicates (for "also", another source's)."""
        return self.verdict.item_id if self.verdict is not None else None

    @property
    def changes(self) -> tuple[str, ...]:
        """What changed from the item it updates ("5 → 6")."""
        return self.verdict.changes if self.verdict is not None else ()

    @property
    def changes_text(self) -> str | None:
        """`changes` as the store keeps them: joined by "; ", None if none."""
        return "; ".join(self.changes) or None


def alerting(fresh: int, baseline: bool, backfill: int) -> int:
    """How many of a poll's `fresh` new lines (newest first) alert: all of them, but of
    the source's first successful poll (a silent baseline) only the `backfill` newest."""
    return min(backfill, fresh) if baseline else fresh


def decide(
    line: Line,
    now: float,
    policy: Policy,
    history: History,
    *,
    edited: Candidate | None = None,
    baseline: bool = False,
    alerts: bool = True,
) -> Decision:
    """What the new `line`, seen at `now`, becomes. A line whose key names an earlier item
    (`edited`) is an update of it; else the judge compares it with the source's recent
    items. In a `baseline` only a duplicate stays related (the baseline has no history to
    update) and no line is "also". With `alerts` (not a silent baseline line) a new story
    or an update alerts the channels the policy routes it to; an "also" line alerts as
    `_also_alerts` says; a duplicate never alerts."""
    terms = policy.terms(line)
    verdict = _own_verdict(line, now, policy, history, terms, edited)
    if baseline and verdict is not None and verdict.kind != "duplicate":
        verdict = None
    also = None  # a baseline line is nobody's "also": it was on the page before
    if policy.across and policy.judge is not None and not baseline and edited is None:
        also = _across(line, now, policy.judge, history, terms, verdict)
    if also is not None:
        verdict, root = also
        if not alerts:
            return Decision(ALSO, verdict, root, terms)
        told = history.story_channels(root)
        follow_up, alert = _also_alerts(line, root, told, policy.route)
        return Decision(ALSO, verdict, root, terms, alert, follow_up)
    kind = verdict.kind if verdict is not None else "new"
    if not alerts or kind not in ("new", "update"):
        return Decision(kind, verdict, None, terms)
    return Decision(kind, verdict, None, terms, _own_alert(line, kind, verdict, policy.route))


def _own_verdict(
    line: Line,
    now: float,
    policy: Policy,
    history: History,
    terms: set[str],
    edited: Candidate | None,
) -> Verdict | None:
    """How `line` relates to its source's earlier items. A line whose key names an earlier
    item (`edited`) is an update of it, whatever the words and the window; otherwise the
    judge, if any, compares the words with the candidates the index finds."""
    from ticker.dedupe import edit_of

    if edited is not None:
        return edit_of(edited, line)
    if policy.judge is None:
        return None
    candidates = history.candidates(terms, now - policy.judge.window)
    return policy.judge.classify(line, candidates, now)


def _across(
    line: Line,
    now: float,
    judge: Judge,
    history: History,
    terms: set[str],
    own: Verdict | None,
) -> tuple[Verdict, int] | None:
    """The verdict of `line` against the other sources' recent lines and the item that
    told the story first (the root), when `line` is "also reported by" its source: a
    duplicate of another source's line, or an update of one when its own source has no
    earlier line of the story. An update of its own line stays an update (it alerts),
    unless another source already showed the same words; a duplicate of its own line
    stays a duplicate. None if it is none of these."""
    if own is not None and own.kind == "duplicate":
        return None
    candidates = history.candidates_across(terms, now - judge.window)
    if not candidates:
        return None
    other = judge.classify(line, candidates)
    if other.item_id is None or other.kind == "new":
        return None
    if other.kind == "update" and own is not None and own.kind == "update":
        return None
    root = history.story_root(other.item_id)
    if root is None or root[1] == history.source:
        return None  # the story began on this source: its own verdict stands
    return other, root[0]


def _own_alert(line: Line, kind: str, verdict: Verdict | None, route: Router) -> AlertPlan:
    """The alert of a new story or an update, to the channels `route` names (an alert is
    written even when it names none: the line's alert is its record in `ticker tail`)."""
    if verdict is None:
        return AlertPlan(kind, route(line, kind))
    return AlertPlan(kind, route(line, kind), verdict.item_id, "; ".join(verdict.changes) or None)


def _also_alerts(
    line: Line, root: int, told: set[str], route: Router
) -> tuple[AlertPlan | None, AlertPlan | None]:
    """The alerts of a line "also reported by" its source, the story begun by item `root`
    and told already to the channels `told`: nothing more to those, but a short follow-up
    (kind "also") to those of them with `also = "notify"`; and the line as a new alert to
    the channels of its source never given the story (a channel of that source alone must
    not lose it). Each is None when it names no channel."""
    follow_ups = [name for name in route(line, ALSO) if name in told]
    untold = [name for name in route(line, "new") if name not in told]
    follow_up = AlertPlan(ALSO, follow_ups, updates_item=root) if follow_ups else None
    return follow_up, AlertPlan("new", untold) if untold else None
