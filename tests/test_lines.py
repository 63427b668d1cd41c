"""Line: cleaning, attribution split, and the match key behind the fingerprint."""

from __future__ import annotations

import pytest

from ticker.lines import (
    MAX_ATTRIBUTION_CHARS,
    MAX_LINE_CHARS,
    Line,
    clean_text,
    fingerprint,
    match_key,
    split_attribution,
)

# --- split_attribution ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "attribution", "body"),
    [
        (
            "Al Mayadeen's correspondent: Around 10 people were detained",
            "Al Mayadeen's correspondent",
            "Around 10 people were detained",
        ),
        (
            "Gaza Civil Defense spokesman: Citizens should avoid Salah al-Din Street",
            "Gaza Civil Defense spokesman",
            "Citizens should avoid Salah al-Din Street",
        ),
        ("Hamas: The two delegations met", "Hamas", "The two delegations met"),
        (
            "Sources to Al Mayadeen: Talks resume tomorrow",
            "Sources to Al Mayadeen",
            "Talks resume tomorrow",
        ),
        ("Israeli media: Sirens sound in the north", "Israeli media", "Sirens sound in the north"),
        # a colon inside the body is part of the body
        ("Hamas: Our position: no talks", "Hamas", "Our position: no talks"),
        # spacing around the colon does not matter
        ("Hamas :  The talks", "Hamas", "The talks"),
    ],
)
def test_named_prefixes_are_split(text: str, attribution: str, body: str) -> None:
    assert split_attribution(text) == (attribution, body)


@pytest.mark.parametrize(
    "text",
    [
        # a time: no space after the colon
        "At 10:30 the army announced a curfew in the south",
        "At 10:30: the army announced a curfew",  # "At 10" is not a speaker either
        # a colon late in a long sentence (prefix over the character cap)
        "The Lebanese army arrested a number of people in the Matn area of Mount Lebanon "
        "and announced: more arrests will follow",
        # short enough in characters but too many words to be a speaker
        "He said that he would go to the city and: more",
        # sentence punctuation or double quotes in the prefix
        "The army withdrew. Officials: more later",
        "Is it over? Officials: not yet",
        '"Israel": a statement followed',
        "\u201cIsrael\u201d: a statement followed",
        # no colon at all
        "Hamas says the two delegations met",
        # nothing after the colon
        "Hamas:",
        # a single character is not a speaker
        "A: b",
    ],
)
def test_other_colons_do_not_split(text: str) -> None:
    assert split_attribution(text) == (None, text)


def test_attribution_at_the_character_cap() -> None:
    prefix = "a" * MAX_ATTRIBUTION_CHARS
    assert split_attribution(f"{prefix}: body") == (prefix, "body")
    longer = prefix + "a"
    assert split_attribution(f"{longer}: body") == (None, f"{longer}: body")


# --- clean_text -------------------------------------------------------------------------


def test_clean_text_caps_length_with_an_ellipsis() -> None:
    text = clean_text("word " * MAX_LINE_CHARS)
    assert len(text) <= MAX_LINE_CHARS
    assert text.endswith("\u2026")
    assert not text.endswith(" \u2026")
    assert text.startswith("word word")


def test_clean_text_at_the_cap_is_not_cut() -> None:
    exact = "x" * MAX_LINE_CHARS
    assert clean_text(exact) == exact
    over = clean_text(exact + "y")
    assert len(over) == MAX_LINE_CHARS
    assert over == "x" * (MAX_LINE_CHARS - 1) + "\u2026"


def test_clean_text_custom_limit() -> None:
    assert clean_text("abcdefghij", limit=5) == "abcd\u2026"


def test_clean_text_normalises() -> None:
    assert clean_text("  Ham\u200bas \u00a0 said :\n the  talks , resume  ") == (
        "Hamas said: the talks, resume"
    )
    assert clean_text("Cafe\u0301") == "Caf\u00e9"  # NFC
    assert clean_text("\u200b\ufeff \u00ad") == ""


BIDI_AND_TAGS = [
    *(chr(c) for c in range(0x2066, 0x206A)),  # bidi isolates LRI RLI FSI PDI
    *(chr(c) for c in range(0x202A, 0x202F)),  # bidi embeddings and overrides
    "\u200e",  # LRM
    "\u200f",  # RLM
    "\U000e0001",  # LANGUAGE TAG
    *(chr(0xE0000 + ord(c)) for c in "ignore previous"),  # tag characters: hidden ASCII
    "\U000e007f",  # CANCEL TAG
]


@pytest.mark.parametrize("char", BIDI_AND_TAGS, ids=lambda c: f"U+{ord(c):04X}")
def test_clean_text_strips_bidi_controls_and_tag_characters(char: str) -> None:
    cleaned = clean_text(f"Hamas{char}: the talks {char}resume{char}")
    assert cleaned == "Hamas: the talks resume"
    assert clean_text(cleaned) == cleaned


def test_hidden_tag_text_does_not_change_the_fingerprint() -> None:
    hidden = "".join(chr(0xE0000 + ord(c)) for c in "send money")
    assert Line.from_text(f"Strikes near Tyre{hidden}") == Line.from_text("Strikes near Tyre")


# --- match_key / fingerprint ------------------------------------------------------------

SAME = [
    "Hamas: The delegation's goals \u2014 ending the war",
    "HAMAS: the delegation\u2019s goals - ending the war",
    "hamas   the delegations goals \u2013 ending the war!",
    "Hamas: \u201cThe delegation's goals\u201d, ending the war.",
    "  Hamas : The delegation`s goals -- ending the war  ",
]


@pytest.mark.parametrize("variant", SAME[1:])
def test_cosmetic_differences_give_the_same_fingerprint(variant: str) -> None:
    assert match_key(variant) == match_key(SAME[0])
    assert fingerprint(variant) == fingerprint(SAME[0])


def test_match_key_form() -> None:
    assert match_key(SAME[0]) == "hamas the delegations goals ending the war"


def test_a_changed_number_changes_the_fingerprint() -> None:
    a = "Around 10 people of different nationalities were detained"
    b = "Around 12 people of different nationalities were detained"
    assert fingerprint(a) != fingerprint(b)
    assert fingerprint("At 10:30 the army") != fingerprint("At 10:35 the army")


def test_a_changed_word_changes_the_fingerprint() -> None:
    assert fingerprint("Hamas: talks resume") != fingerprint("Hamas: talks stall")
    assert fingerprint("Hamas: talks resume") != fingerprint("Israeli media: talks resume")


def test_letters_of_other_scripts_are_kept() -> None:
    arabic = "الميادين: قصف إسرائيلي على جنوب لبنان"
    assert match_key(arabic) == "الميادين قصف إسرائيلي على جنوب لبنان"
    assert fingerprint(arabic) != fingerprint("الميادين: قصف إسرائيلي على شمال لبنان")
    assert fingerprint(arabic) != fingerprint("")
    assert match_key("Гроза: Москва") == "гроза москва"
    assert fingerprint("Гроза: Москва") != fingerprint("Гроза: Киев")


def test_fingerprint_is_stable_hex() -> None:
    digest = fingerprint("Hamas: The talks")
    assert len(digest) == 32
    int(digest, 16)
    assert digest == fingerprint("Hamas: The talks")


# --- Line.from_text ---------------------------------------------------------------------


def test_line_from_text_fills_every_field() -> None:
    line = Line.from_text("  Hamas:\u200b The two  delegations met\n", url="https://e.org/1")
    assert line.text == "Hamas: The two delegations met"
    assert line.attribution == "Hamas"
    assert line.body == "The two delegations met"
    assert line.url == "https://e.org/1"
    assert line.fingerprint == fingerprint("Hamas: The two delegations met")


def test_line_from_text_without_attribution() -> None:
    line = Line.from_text("Sirens sound in the north")
    assert line.attribution is None
    assert line.body == line.text == "Sirens sound in the north"
    assert line.url is None
    assert line.fingerprint == fingerprint(line.text)


def test_line_equality_ignores_nothing_but_the_fingerprint_field() -> None:
    a = Line.from_text("Hamas: talks")
    assert a == Line.from_text("Hamas:   talks")
    assert a != Line.from_text("Hamas: talks", url="https://e.org/1")
