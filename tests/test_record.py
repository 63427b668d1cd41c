"""The policy of a poll's lines (ticker/record.py) without a database: what each new line
becomes, and which alerts and deliveries it gets, from a history held in dicts."""

from __future__ import annotations

from dataclasses import dataclass, field

from ticker.dedupe import Candidate, Judge
from ticker.lines import Line
from ticker.record import ALSO, AlertPlan, Policy, alerting, decide, policy_of

STORY = "Hamas: The delegation will arrive in Cairo tomorrow to continue the talks"
STORY_AGAIN = "Hamas: the delegation will arrive in Cairo tomorrow to continue the talks."
STORY_MORE = (
    "Hamas: The delegation will arrive in Cairo tomorrow to continue the talks with mediators"
)
OTHER = "Israeli media: Sirens sound in Metula and Kiryat Shmona"
NOW = 10_000.0


@dataclass
class Past:
    """A History of dicts: this source's items, the other sources' items (id -> source,
    text), and the channels each story root was told; `reads` lists what was asked."""

    source: str = "strip"
    own: dict[int, str] = field(default_factory=dict)
    others: dict[int, tuple[str, str]] = field(default_factory=dict)
    told: dict[int, set[str]] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)

    def candidates(self, terms: set[str], since: float) -> list[Candidate]:
        self.reads.append("candidates")
        return [Candidate(item_id, text, NOW - 60) for item_id, text in self.own.items()]

    def candidates_across(self, terms: set[str], since: float) -> list[Candidate]:
        self.reads.append("across")
        return [Candidate(item_id, text, NOW - 60) for item_id, (_, text) in self.others.items()]

    def story_root(self, item_id: int) -> tuple[int, str] | None:
        self.reads.append("root")
        return item_id, self.others[item_id][0] if item_id in self.others else self.source

    def story_channels(self, root: int) -> set[str]:
        self.reads.append("told")
        return self.told.get(root, set())


def route(line: Line, kind: str) -> list[str]:
    """ops takes everything and follow-ups; phone new stories only."""
    return {"new": ["ops", "phone"], "update": ["ops"], ALSO: ["ops"]}[kind]


def test_without_a_judge_a_line_is_new_and_alerts_its_channels_reading_nothing() -> None:
    past = Past(own={1: STORY})
    decision = decide(Line.from_text(STORY_AGAIN), NOW, Policy(route), past)
    assert decision.kind == "new" and decision.verdict is None and decision.terms == set()
    assert decision.alert == AlertPlan("new", ["ops", "phone"])
    assert decision.follow_up is None and past.reads == []


def test_a_line_whose_key_names_an_earlier_item_is_its_update_whatever_the_judge() -> None:
    past = Past(own={1: OTHER})
    edited = Candidate(7, STORY)
    line = Line.from_text(STORY_MORE, key="post-7")
    decision = decide(line, NOW, Policy(route, Judge()), past, edited=edited)
    assert (decision.kind, decision.of_item) == ("update", 7)
    assert decision.alert is not None and decision.alert.channels == ["ops"]
    assert decision.alert.updates_item == 7 and decision.alert.changes == "+ with mediators"
    assert past.reads == []  # the source said so: no candidates read


def test_a_duplicate_is_logged_and_never_alerts() -> None:
    past = Past(own={3: STORY})
    decision = decide(Line.from_text(STORY_AGAIN), NOW, Policy(route, Judge()), past)
    assert (decision.kind, decision.of_item, decision.alert) == ("duplicate", 3, None)
    assert decision.terms  # still indexed


def test_a_baseline_line_keeps_only_a_duplicate_relation_and_stays_silent() -> None:
    policy = Policy(route, Judge(), across=True)
    update = decide(
        Line.from_text(STORY_MORE), NOW, policy, Past(own={3: STORY}), baseline=True, alerts=False
    )
    assert (update.kind, update.verdict, update.alert) == ("new", None, None)
    past = Past(own={3: STORY}, others={9: ("channel", STORY)})
    duplicate = decide(Line.from_text(STORY_AGAIN), NOW, policy, past, baseline=True)
    assert (duplicate.kind, duplicate.of_item) == ("duplicate", 3)
    assert "across" not in past.reads  # a baseline line is nobody's "also"


def test_a_story_another_source_told_first_is_also_with_a_follow_up_where_told() -> None:
    past = Past(others={9: ("channel", STORY)}, told={9: {"ops"}})
    decision = decide(Line.from_text(STORY_AGAIN), NOW, Policy(route, Judge(), across=True), past)
    assert (decision.kind, decision.also_of, decision.of_item) == (ALSO, 9, 9)
    assert decision.follow_up == AlertPlan(ALSO, ["ops"], updates_item=9)
    # phone takes this source and was never given the story: it must not lose it.
    assert decision.alert == AlertPlan("new", ["phone"])


def test_an_also_line_told_everywhere_alerts_only_its_follow_up() -> None:
    past = Past(others={9: ("channel", STORY)}, told={9: {"ops", "phone"}})
    decision = decide(Line.from_text(STORY_AGAIN), NOW, Policy(route, Judge(), across=True), past)
    assert decision.alert is None and decision.follow_up == AlertPlan(ALSO, ["ops"], 9)


def test_a_story_begun_on_this_source_keeps_its_own_verdict() -> None:
    past = Past(others={9: ("strip", STORY)})  # the root is of this source
    decision = decide(Line.from_text(STORY_AGAIN), NOW, Policy(route, Judge(), across=True), past)
    assert decision.kind == "new" and decision.also_of is None
    assert decision.alert == AlertPlan("new", ["ops", "phone"])


def test_an_also_line_outside_the_alerting_lines_reads_no_channels() -> None:
    past = Past(others={9: ("channel", STORY)}, told={9: {"ops"}})
    policy = Policy(route, Judge(), across=True)
    decision = decide(Line.from_text(STORY_AGAIN), NOW, policy, past, alerts=False)
    assert (decision.kind, decision.alert, decision.follow_up) == (ALSO, None, None)
    assert "told" not in past.reads


def test_an_alert_routed_nowhere_is_still_an_alert() -> None:
    decision = decide(Line.from_text(OTHER), NOW, Policy(lambda line, kind: []), Past())
    assert decision.alert == AlertPlan("new", [])  # the line's record in `ticker tail`


def test_fixed_channels_send_updates_to_update_channels_and_follow_ups_nowhere() -> None:
    policy = policy_of(["mail"], update_channels=["phone"])
    line = Line.from_text(OTHER)
    assert [policy.route(line, kind) for kind in ("new", "update", ALSO)] == [
        ("mail",),
        ("phone",),
        (),
    ]
    assert policy_of(route).route is route


def test_only_the_backfill_newest_lines_of_a_baseline_alert() -> None:
    assert alerting(5, baseline=True, backfill=2) == 2
    assert alerting(1, baseline=True, backfill=2) == 1
    assert alerting(5, baseline=False, backfill=0) == 5
