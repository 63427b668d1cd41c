"""Attribution equivalence: one speaker written several ways is one speaker
(`dedupe.same_attribution`), different speakers stay different, and `[dedupe] aliases`
reach the classifier. Pairs marked "real" are as english.almayadeen.net or the Arabic and
Spanish strips wrote them (tests/data/real_strips/, tests/test_editions.py); the others are
edits made here, in the sites' style."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import lines

from ticker.config import load_config
from ticker.dedupe import SAME_BODY_WINDOW, Candidate, Judge, classify, compare, same_attribution
from ticker.errors import ConfigError
from ticker.lines import Line, canonical_attribution
from ticker.poll import judge_for
from ticker.store import Store

SAME = [
    # typo-tolerant (real: the site's own typo)
    ("Al Mayaden's correspondent", "Al Mayadeen's correspondent"),
    ("Gaza Civil Defense spokesman", "Gaza Civil Defence spokesman"),
    ("Hamás", "Hamas"),
    # a short form that is the tail of the full form (real)
    ("Kremlin spokesperson Dmitry Peskov", "Peskov"),
    ("Pete Hegseth", "Hegseth"),
    ("Turkish President Erdogan", "Erdogan"),
    ("UNRWA Commissioner-General Philippe Lazzarini", "Philippe Lazzarini"),
    ("Hezbollah Secretary-General Sheikh Naim Qassem", "Sheikh Qassem"),
    # a generic word more (real: "Israeli media outlet" and "Israeli media" on one strip)
    ("Israeli media outlet", "Israeli media"),
    ("Factions' statement", "Statement"),
    ("Sources to Al Mayadeen", "Sources"),
    ("قناة العربية", "العربية"),
    # a word inserted before the same head: the same local sources, located
    ("Local sources", "Local Syrian sources"),
    # a place on one side only: the same role, located (real)
    ("Local sources from Damascus countryside", "Local sources"),
    ("Al Mayadeen's correspondent in South Lebanon", "Al Mayadeen's correspondent"),
    ("Al Mayadeen’s correspondent in France", "Our correspondent"),
    # initials
    ("Yemeni Armed Forces", "YAF"),
    ("Israeli occupation forces", "IOF"),
    ("YAF spokesperson", "Yemeni Armed Forces spokesperson"),
    ("Fuerzas Armadas Yemeníes", "FFAA yemeníes"),  # Spanish doubles a plural's initials
    # "our correspondent" in English, Arabic and Spanish
    ("Al Mayadeen's correspondent", "Our correspondent"),
    ("Al Mayadeen correspondent", "Al Mayadeen's correspondent"),
    ("مراسل الميادين", "مراسلنا"),
    ("مراسلة الميادين", "مراسل الميادين"),
    ("🔴 عاجل | مراسل الميادين", "مراسل الميادين"),
    ("Corresponsal de Al Mayadeen", "Nuestro corresponsal"),
    ("Corresponsal de Al Mayadeen en el Líbano", "Corresponsal de Al Mayadeen"),
    ("مراسل الميادين في غزة", "مراسلنا"),
    # the place written another way
    ("Defensa Civil de Gaza", "Defensa Civil en Gaza"),
    ("الدفاع المدني في غزة", "الدفاع المدني بغزة"),
    ("Gaza Civil Defense", "Civil Defense in Gaza"),
    ("القناة 12 الإسرائيلية", "القناة الـ12 الإسرائيلية"),
]

DIFFERENT = [
    ("Hamas", "Amal"),
    ("Hamas", "Hamad"),
    ("Hamas", "Hezbollah"),
    ("Israeli media", "Iranian media"),
    ("Austrian media", "Australian media"),
    ("Lebanese army", "Israeli army"),
    ("Israeli army", "Israeli army radio"),
    ("Israeli sources", "Israeli official"),
    ("Channel 12", "Channel 13"),
    ("قناة 12", "قناة 13"),
    ("Statement", "Hamas"),
    ("Kremlin spokesperson Dmitry Peskov", "Dmitry Medvedev"),
    ("Pete Hegseth", "Pete Buttigieg"),
    # two places are two correspondents
    ("Al Mayadeen's correspondent in South Lebanon", "Al Mayadeen's correspondent in France"),
    ("مراسل الميادين في غزة", "مراسل الميادين في جنوب لبنان"),
    ("Corresponsal de Al Mayadeen en Gaza", "Corresponsal de Al Mayadeen en el Líbano"),
    ("Defensa Civil de Gaza", "Defensa Civil en el Líbano"),
    ("الدفاع المدني في غزة", "الدفاع المدني بلبنان"),
    ("القناة 12 الإسرائيلية", "القناة الـ13 الإسرائيلية"),
    # real, same story, other speaker: not an attribution variant
    ("Defense Attorney", "Al Mayadeen's correspondent in France"),
    # a speaker and no speaker
    ("Hamas", None),
    ("Hamas", ""),
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_one_speaker_written_two_ways_is_one(a: str, b: str) -> None:
    assert same_attribution(a, b, ())
    assert same_attribution(b, a, ())


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_speakers_stay_different(a: str, b: str | None) -> None:
    assert not same_attribution(a, b, ())
    assert not same_attribution(b, a, ())


def test_no_attribution_is_the_same_as_none() -> None:
    assert same_attribution(None, "", ())
    assert same_attribution("Breaking", None, ())  # a label, not a speaker


def test_the_canonical_form_is_idempotent_and_folds_for_matching_only() -> None:
    for a, b in SAME + DIFFERENT:
        for name in (a, b):
            assert canonical_attribution(canonical_attribution(name)) == canonical_attribution(name)
    assert canonical_attribution("مُراسِلة الميادين") == "correspondent"  # vowel marks
    # one role in every language, so a channel's `attributions` takes each form of it
    forms = ["Our correspondent", "مراسلنا", "🔴 عاجل | مراسل الميادين", "Nuestro corresponsal"]
    assert {canonical_attribution(form) for form in forms} == {"correspondent"}
    assert canonical_attribution("قناة ١٢") == canonical_attribution("قناة 12")
    line = Line.from_text("Hamás: texto")
    assert line.attribution == "Hamás"  # what is shown stays as written


def test_aliases_join_names_no_rule_would() -> None:
    aliases = (("Islamic Resistance in Iraq", "IRI", "المقاومة الإسلامية في العراق"),)
    assert not same_attribution("المقاومة الإسلامية في العراق", "IRI", ())
    assert same_attribution("المقاومة الإسلامية في العراق", "IRI", aliases)
    assert same_attribution("Hizbullah", "Hezbollah", (("Hezbollah", "Hizbullah"),))
    assert not same_attribution("Hizbullah", "Hezbollah", ())
    # an alias joins its group, not everything
    assert not same_attribution("IRI", "Hamas", aliases)


# Real lines with the attribution written another way (the edit is ours where marked).
REPOSTS = [
    (
        "Kremlin spokesperson Dmitry Peskov: Moscow is interested in maintaining a peaceful "
        "situation between Venezuela and the United States.",
        "Peskov: Moscow is interested in maintaining a peaceful situation between Venezuela "
        "and the United States.",  # edit: attribution shortened as the site does
        "duplicate",
    ),
    (
        "Israeli media outlet: Gunmen emerged from a tunnel in Rafah and attacked forces in "
        "the area with gunfire and anti-tank missiles",
        "Israeli media: Gunmen emerged from a tunnel in Rafah and attacked forces in the area "
        "with gunfire and anti-tank missiles",  # edit
        "duplicate",
    ),
    (
        "Al Mayaden's correspondent: 62 martyrs killed by IOF in Gaza since morning, "
        "including 32 aid seekers.",  # edit: the site's typo
        "Al Mayadeen's correspondent: 64 martyrs killed by IOF in Gaza since morning, "
        "including 32 aid seekers.",
        "update",
    ),
    (
        "Local sources: An Israeli ground unit, comprising more than 15 military and armored "
        "vehicles, carried out an incursion into southern rural Damascus",
        "Local Syrian sources: An Israeli ground unit, comprising more than 15 military and "
        "armored vehicles, carried out an incursion into southern rural Damascus",  # edit
        "duplicate",
    ),
    (
        "مراسل الميادين: استشهاد ٣ مواطنين في غارة إسرائيلية على بلدة عيتا الشعب",
        "مراسلنا: استشهاد ٣ مواطنين في غارة إسرائيلية على بلدة عيتا الشعب",  # edit
        "duplicate",
    ),
    (
        "العربية: حماس وإسرائيل وافقا على وقف النار لمدة 60 يوما.. وترامب سيعلن التفاصيل",
        "قناة العربية: حماس وإسرائيل وافقا على وقف النار لمدة 60 يوما.. وترامب سيعلن التفاصيل",
        "duplicate",  # edit
    ),
    (
        "Corresponsal de Al Mayadeen: El Ejército libanés continúa sus investigaciones en la "
        "zona de Matn",
        "Nuestro corresponsal: El Ejército libanés continúa sus investigaciones en la zona "
        "de Matn",  # edit
        "duplicate",
    ),
]


REPOSTS.append(
    (
        "Nuestro corresponsal en el sur del Líbano: Un mártir en un ataque con drones contra "
        "un camión en la localidad de Naqoura",
        "Corresponsal de Al Mayadeen en el sur del Líbano: Un mártir en un ataque con drones "
        "contra un camión en la localidad de Naqoura",  # 9 words, 6 of them not short
        "duplicate",
    )
)


@pytest.mark.parametrize(("first", "second", "kind"), REPOSTS)
def test_a_repost_under_another_form_of_the_attribution_is_one_story(
    first: str, second: str, kind: str
) -> None:
    assert compare(first, second).kind == kind


def test_a_dateline_before_the_speaker_does_not_make_another_speaker() -> None:
    body = "There is no longer room for any wounded inside."
    real = f"Occupied Palestine: Director of Al-Shifa Hospital: {body}"
    edit = f"Director of Al-Shifa Hospital: {body}"
    assert compare(real, edit).kind == "duplicate"
    assert compare(edit, real).kind == "duplicate"
    other = f"Occupied Palestine: Director of Al-Awda Hospital: {body}"
    assert compare(real, other).kind == "new"


def test_the_same_body_from_another_speaker_is_another_story() -> None:
    body = "Israeli warplanes target a residential building in Gaza City"
    assert compare(f"Hamas: {body}", f"Hezbollah: {body}").kind == "new"
    assert compare(f"Israeli media: {body}", f"Iranian media: {body}").kind == "new"


def test_classify_reads_candidates_under_another_form_of_the_attribution() -> None:
    line = Line.from_text("YAF: We targeted the port of Eilat with a ballistic missile")
    earlier = Candidate(
        7, "Yemeni Armed Forces: We targeted the port of Eilat with a ballistic missile"
    )
    other = Candidate(8, "Hamas: We targeted the port of Eilat with a ballistic missile")
    verdict = classify(line, [other, earlier])
    assert (verdict.kind, verdict.item_id) == ("duplicate", 7)


def write_config(tmp_path: Path, dedupe: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        '[[source]]\nname = "x"\nurl = "https://example.org/"\nselector = "li"\n'
        + "\n[dedupe]\n"
        + dedupe,
        encoding="utf-8",
    )
    return path


def test_aliases_from_config_reach_the_classifier_through_poll(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, 'aliases = [["Hezbollah", "Hizbullah"], ["العربية", "قناة العربية"]]\n'
    )
    config = load_config(path)
    assert config.dedupe.aliases == (("Hezbollah", "Hizbullah"), ("العربية", "قناة العربية"))
    judge = judge_for(config)
    line = Line.from_text("Hizbullah: Our fighters targeted a Merkava tank in Marun al-Ras")
    earlier = Candidate(3, "Hezbollah: Our fighters targeted a Merkava tank in Marun al-Ras")
    assert judge.classify(line, [earlier]).kind == "duplicate"
    assert Judge().classify(line, [earlier]).kind == "new"


def test_no_aliases_by_default(tmp_path: Path) -> None:
    assert load_config(write_config(tmp_path, "")).dedupe.aliases == ()


@pytest.mark.parametrize(
    "value",
    [
        '"YAF"',
        '["Yemeni Armed Forces", "YAF"]',
        '[["YAF"]]',
        '[["Yemeni Armed Forces", " "]]',
        '[["Yemeni Armed Forces", 3]]',
        "[[]]",
    ],
)
def test_bad_aliases_name_the_file_the_field_and_the_shape(tmp_path: Path, value: str) -> None:
    path = write_config(tmp_path, f"aliases = {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: dedupe.aliases: expected a list of lists of 2+ names")


# Real: the site credited George Abdallah's release to "Defense Attorney", then to its
# correspondent in France; the second body is ours (the real one was reworded).
LAWYER = "Defense Attorney: Lebanese activist George Ibrahim Abdallah will be released on July 25"
RECREDITED = (
    "Al Mayadeen's correspondent in France: Lebanese activist George Ibrahim Abdallah will "
    "be released on July 25"
)
UNCREDITED = "Lebanese activist George Ibrahim Abdallah will be released on July 25"


@pytest.mark.parametrize("later", [RECREDITED, UNCREDITED])
def test_the_same_body_under_another_credit_moments_later_is_a_duplicate(later: str) -> None:
    earlier = Candidate(5, LAWYER, first_seen=1000.0)
    verdict = classify(Line.from_text(later), [earlier], now=1000.0 + 300)
    assert (verdict.kind, verdict.item_id) == ("duplicate", 5)


def test_the_same_body_under_another_credit_is_another_story_when_far_apart_or_short() -> None:
    earlier = Candidate(5, LAWYER, first_seen=1000.0)
    late = 1000.0 + SAME_BODY_WINDOW + 1
    assert classify(Line.from_text(RECREDITED), [earlier], now=late).kind == "new"
    assert classify(Line.from_text(RECREDITED), [earlier]).kind == "new"  # no time: no evidence
    assert classify(Line.from_text(RECREDITED), [Candidate(5, LAWYER)], now=1000.0).kind == "new"
    short = Candidate(6, "Hamas: We reject this proposal", first_seen=1000.0)
    line = Line.from_text("Islamic Jihad: We reject this proposal")
    assert classify(line, [short], now=1000.0).kind == "new"  # each speaker's own words
    reworded = Line.from_text("Our correspondent in France: Georges Abdallah will be freed July 25")
    assert classify(reworded, [earlier], now=1000.0).kind == "new"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # two others' credits: two speakers' own words, two places (the real set's rule)
        ("Hamas", "Islamic Jihad"),
        ("Director of Al-Shifa Hospital", "Director of Al-Awda Hospital"),
        ("الكرك", "الطفيلة"),
        # two correspondents in two places
        ("Al Mayadeen's correspondent in Gaza", "Al Mayadeen's correspondent in South Lebanon"),
    ],
)
def test_the_same_body_under_two_other_credits_moments_apart_is_two_stories(
    first: str, second: str
) -> None:
    body = "An Israeli drone strike targeted a motorcycle near the main square"
    earlier = Candidate(5, f"{first}: {body}", first_seen=1000.0)
    assert classify(Line.from_text(f"{second}: {body}"), [earlier], now=1060.0).kind == "new"


def test_the_store_gives_the_classifier_the_times_it_needs(store: Store) -> None:
    judge = Judge()
    store.record_poll("src", "https://example.org/", lines(LAWYER), 100.0, ["mail"], judge=judge)
    soon = store.record_poll(
        "src", "https://example.org/", lines(RECREDITED, LAWYER), 400.0, ["mail"], judge=judge
    )
    assert [(item.kind, item.alert_id) for item in soon.new] == [("duplicate", None)]
    late = store.record_poll(
        "src", "https://example.org/", lines(UNCREDITED), 100.0 + 7200, ["mail"], judge=judge
    )
    assert [item.kind for item in late.new] == ["new"]
