"""Kind `html`: finding the ticker by selector or label and turning its items into Lines."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import pytest

from ticker.config import Source
from ticker.errors import ParseError
from ticker.lines import Line
from ticker.sources import kind as kind_module
from ticker.sources.html import MAX_LINES, parse

DATA = Path(__file__).parent / "data"
SEED = DATA / "almayadeen-english-article-page.txt"  # the seed page capture (public page text)
ALMAYADEEN = Source(name="almayadeen-en", url="https://english.almayadeen.net/")
GENERIC_URL = "https://example.org/news/index.html"
FIXTURES = ["almayadeen_list.html", "almayadeen_slider.html"]
ATTRIBUTIONS = Counter(
    {"Al Mayadeen's correspondent": 4, "Gaza Civil Defense spokesman": 4, "Hamas": 2}
)


def generic(order: str = "newest-first", **options: str) -> Source:
    """A source on a site that has no preset."""
    return Source(name="generic", url=GENERIC_URL, order=order, options=options)


def texts(found: list[Line]) -> list[str]:
    return [line.text for line in found]


def one_line(item_html: str) -> Line:
    """The single Line parsed from one <li> of a generic page."""
    found = parse(f'<ul class="t"><li>{item_html}</li></ul>', generic(selector=".t li"))
    assert len(found) == 1, found
    return found[0]


# --- the Al Mayadeen fixtures -----------------------------------------------------------


@pytest.mark.parametrize("fixture", FIXTURES)
def test_fixture_gives_the_seed_lines_in_order(fixture: str, seed_lines: list[str]) -> None:
    found = parse((DATA / fixture).read_text(encoding="utf-8"), ALMAYADEEN)
    assert len(seed_lines) == 10
    assert texts(found) == seed_lines


def seed_breaking_block() -> list[str]:
    """The ten lines after the "BREAKING" line of the seed page capture."""
    lines = SEED.read_text(encoding="utf-8").splitlines()
    start = [line.strip() for line in lines].index("BREAKING") + 1
    return [line.strip() for line in lines[start : start + 10]]


@pytest.mark.parametrize("fixture", FIXTURES)
def test_fixture_matches_the_seed_capture_itself(fixture: str, seed_lines: list[str]) -> None:
    block = seed_breaking_block()
    assert block == seed_lines  # the data file is a faithful copy of the capture
    found = parse((DATA / fixture).read_text(encoding="utf-8"), ALMAYADEEN)
    assert texts(found) == block


@pytest.mark.parametrize("fixture", FIXTURES)
def test_fixture_attribution_is_split_off(fixture: str, seed_lines: list[str]) -> None:
    found = parse((DATA / fixture).read_text(encoding="utf-8"), ALMAYADEEN)
    assert Counter(line.attribution for line in found) == ATTRIBUTIONS
    for line, seed in zip(found, seed_lines, strict=True):
        assert line.attribution is not None
        assert seed == f"{line.attribution}: {line.body}"
        assert not line.body.startswith(line.attribution)
        assert ":" not in line.body[:5]
        assert line.fingerprint and len(line.fingerprint) == 32
    assert found[8].body.startswith("The two delegations stressed")
    assert found[0].body.startswith("The Lebanese Army is continuing")


def test_list_markup_links_are_made_absolute() -> None:
    found = parse((DATA / "almayadeen_list.html").read_text(encoding="utf-8"), ALMAYADEEN)
    assert [line.url for line in found] == [
        f"https://english.almayadeen.net/news/breaking/{n}" for n in range(1000, 1010)
    ]


def test_slider_markup_has_no_links() -> None:
    found = parse((DATA / "almayadeen_slider.html").read_text(encoding="utf-8"), ALMAYADEEN)
    assert len(found) == 10
    assert all(line.url is None for line in found)


def test_slider_markup_is_found_only_through_the_label() -> None:
    page = (DATA / "almayadeen_slider.html").read_text(encoding="utf-8")
    # None of the preset's selectors match: without the label there is no ticker.
    with pytest.raises(ParseError, match="ticker not found"):
        parse(page, Source(name="x", url=ALMAYADEEN.url, options={"label": "NOT ON THIS PAGE"}))
    assert (
        len(parse(page, Source(name="x", url=ALMAYADEEN.url, options={"label": "breaking"}))) == 10
    )


# --- the label fallback -----------------------------------------------------------------


def test_label_is_case_insensitive_and_breaking_news_is_accepted() -> None:
    page = """<html><body>
    <nav><ul><li>Home</li><li>World</li></ul></nav>
    <div id="ticker"><h3>Breaking News</h3>
      <ol><li>Hamas: First line</li><li>Israeli media: Second line</li></ol>
    </div>
    <main><ul><li>Not a ticker line</li><li>Nor this</li></ul></main>
    </body></html>"""
    found = parse(page, ALMAYADEEN)  # preset labels: BREAKING, BREAKING NEWS
    assert texts(found) == ["Hamas: First line", "Israeli media: Second line"]
    assert [line.attribution for line in found] == ["Hamas", "Israeli media"]
    assert texts(parse(page, generic(label="breaking news"))) == texts(found)
    # The label is the element's whole text, not a word of it.
    with pytest.raises(ParseError, match="ticker not found"):
        parse(page, generic(label="BREAKING"))


def test_label_in_a_table_header_finds_the_rows() -> None:
    page = """<table class="urgent">
      <thead><tr><th>Breaking</th></tr></thead>
      <tbody><tr><td>Hamas: one</td></tr><tr><td>two</td></tr><tr><td>three</td></tr></tbody>
    </table>"""
    found = parse(page, ALMAYADEEN)
    assert texts(found) == ["Hamas: one", "two", "three"]


def test_label_inside_a_script_is_not_the_label() -> None:
    page = """<body>
    <script type="text/x-label">BREAKING</script>
    <ul><li>decoy one</li><li>decoy two</li></ul>
    <div><h2>BREAKING</h2><ul><li>real one</li><li>real two</li></ul></div>
    </body>"""
    assert texts(parse(page, generic(label="BREAKING"))) == ["real one", "real two"]


def test_label_only_in_a_script_is_no_ticker() -> None:
    page = '<body><script>var l = "<h2>BREAKING</h2>";</script><ul><li>a</li><li>b</li></ul>'
    with pytest.raises(ParseError, match="ticker not found"):
        parse(page, generic(label="BREAKING"))


def test_found_but_empty_list_is_an_empty_ticker() -> None:
    page = '<div class="breaking-news"><span>BREAKING</span><ul></ul></div>'
    assert parse(page, generic(label="BREAKING")) == []
    assert parse(page, ALMAYADEEN) == []


def test_label_without_a_list_names_the_label() -> None:
    with pytest.raises(ParseError) as caught:
        parse("<body><h2>URGENT</h2><p>nothing here</p></body>", generic(label="URGENT"))
    message = str(caught.value)
    assert message.startswith("ticker not found")
    assert "URGENT" in message
    assert "matched nothing" not in message  # no selector was tried


# --- selectors and labels on sites without a preset -------------------------------------


def test_custom_selector_on_a_generic_site() -> None:
    page = """<ul class="menu"><li>Home</li></ul>
    <div class="flash"><p class="item">Sources to Al Mayadeen: one</p>
    <p class="item">two</p></div>"""
    found = parse(page, generic(selector=".flash .item"))
    assert texts(found) == ["Sources to Al Mayadeen: one", "two"]
    assert found[0].attribution == "Sources to Al Mayadeen"


def test_custom_selector_wins_over_the_preset() -> None:
    page = (DATA / "almayadeen_list.html").read_text(encoding="utf-8")
    source = Source(name="x", url=ALMAYADEEN.url, options={"selector": "aside li"})
    assert texts(parse(page, source)) == [
        "Hezbollah SG reveals war details on Al Mayadeen for the first time",
        "Major ambush in Gaza kills 5 Israeli troops, injures 14",
    ]


def test_custom_label_on_a_generic_site() -> None:
    page = """<body><ul class="menu"><li>Home</li><li>World</li></ul>
    <div class="strip"><strong>URGENT</strong>
      <div class="items"><div>Israeli media: one</div><div>two</div></div></div></body>"""
    found = parse(page, generic(label="URGENT"))
    assert texts(found) == ["Israeli media: one", "two"]
    with pytest.raises(ParseError):
        parse(page, generic(label="BREAKING"))


def test_selector_that_matches_nothing_without_label_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="ticker not found") as caught:
        parse("<ul><li>a</li></ul>", generic(selector=".breaking li"))
    assert "'.breaking li'" in str(caught.value)


def test_invalid_selector_is_a_parse_error_naming_it() -> None:
    with pytest.raises(ParseError) as caught:
        parse("<ul><li>a</li></ul>", generic(selector="li[[broken"))
    assert "li[[broken" in str(caught.value)
    assert "selector" in str(caught.value)


# --- text -------------------------------------------------------------------------------


def test_entities_are_decoded() -> None:
    line = one_line("Hamas: Gaza &amp; the West Bank&#39;s people&nbsp;said &quot;no&quot;")
    assert line.text == 'Hamas: Gaza & the West Bank\'s people said "no"'
    assert "\xa0" not in line.text


def test_invisible_characters_are_removed() -> None:
    line = one_line("\u200bHa\ufeffmas\u200f: Cease\u00adfire talks\u200b")
    assert line.text == "Hamas: Ceasefire talks"
    assert line.attribution == "Hamas"


def test_whitespace_is_collapsed() -> None:
    line = one_line("\n   Hamas:\t\tThe   two\n\n delegations   ")
    assert line.text == "Hamas: The two delegations"


def test_inline_markup_inside_a_word_adds_no_space() -> None:
    assert one_line("Ha<b>mas</b>: Cease<i>fire</i>").text == "Hamas: Ceasefire"


def test_separate_elements_are_separate_words() -> None:
    assert one_line("<span>Hamas:</span><span>The talks</span>").text == "Hamas: The talks"
    assert one_line("<p>First</p><p>second</p>").text == "First second"
    assert one_line("first<br>second").text == "first second"


def test_script_and_style_inside_an_item_are_not_text() -> None:
    line = one_line("Hamas: talks<script>track('x')</script><style>.a{}</style> resume")
    assert line.text == "Hamas: talks resume"


def test_arabic_line_keeps_its_letters_and_splits_attribution() -> None:
    line = one_line("الميادين: قصف إسرائيلي على جنوب لبنان")
    assert line.text == "الميادين: قصف إسرائيلي على جنوب لبنان"
    assert line.attribution == "الميادين"
    assert line.body == "قصف إسرائيلي على جنوب لبنان"


# --- links and duplicates ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("href", "url"),
    [
        ("javascript:void(0)", None),
        ("mailto:desk@example.org", None),
        ("//cdn.example.net/x", "https://cdn.example.net/x"),
        ("story/7", "https://example.org/news/story/7"),
        ("/breaking/7", "https://example.org/breaking/7"),
        ("  https://other.example/a  ", "https://other.example/a"),
    ],
)
def test_link_of_a_line(href: str, url: str | None) -> None:
    assert one_line(f'<a href="{href}">Hamas: talks</a>').url == url


def test_line_without_a_link_has_no_url() -> None:
    assert one_line("Hamas: talks").url is None


def test_duplicate_lines_within_a_page_are_dropped() -> None:
    page = """<ul class="t">
      <li>Hamas: The talks resume</li>
      <li>Israeli media: Another line</li>
      <li>HAMAS:  the talks   resume.</li>
      <li>Hamas: The talks resume</li>
    </ul>"""
    found = parse(page, generic(selector=".t li"))
    assert texts(found) == ["Hamas: The talks resume", "Israeli media: Another line"]


def test_items_without_text_are_skipped() -> None:
    page = '<ul class="t"><li> </li><li><img src="x.png"></li><li>one</li><li>\u200b</li></ul>'
    assert texts(parse(page, generic(selector=".t li"))) == ["one"]


# --- the per-page cap: the newest lines are kept, and the cut is said once -----------------

OVER_CAP = MAX_LINES + 101  # the 601-item list of issue 12


def timed_list(count: int, *, newest_last: bool, timed: bool = True) -> str:
    """A ticker of `count` items, "item 0" the oldest, each with a <time datetime> (if
    `timed`) a minute after the one before; listed oldest first if `newest_last`."""
    numbers = range(count) if newest_last else range(count - 1, -1, -1)
    items = "".join(
        f'<li><time datetime="2026-11-29T{n // 60 % 24:02d}:{n % 60:02d}:00Z">'
        f"{n // 60 % 24:02d}:{n % 60:02d}</time> item {n}</li>"
        if timed
        else f"<li>item {n}</li>"
        for n in numbers
    )
    return f'<ul class="t">{items}</ul>'


def item_numbers(found: list[Line]) -> list[int]:
    return [int(line.text.rsplit(" ", 1)[1]) for line in found]


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The once-per-process memory of capped tickers, empty for this test."""
    monkeypatch.setattr(kind_module, "_WARNED", set())


@pytest.mark.parametrize("newest_last", [True, False], ids=["newest-last", "newest-first"])
def test_over_the_cap_the_newest_timed_items_are_kept_and_warned_once(
    newest_last: bool, fresh_warnings: None, caplog: pytest.LogCaptureFixture
) -> None:
    page = timed_list(OVER_CAP, newest_last=newest_last)
    source = generic(selector=".t li")
    with caplog.at_level(logging.WARNING, logger="ticker.sources.html"):
        found = parse(page, source)
        again = parse(page, source)  # the next poll: no second warning
    newest = list(range(OVER_CAP - 1, OVER_CAP - 1 - MAX_LINES, -1))
    assert item_numbers(found) == newest  # before: items 0-499 when the newest were last
    assert item_numbers(again) == newest
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1, warnings
    assert f"generic: the ticker lists {OVER_CAP} items" in warnings[0]
    assert f"the {MAX_LINES} newest lines are kept" in warnings[0]


def test_each_capped_source_is_warned_about_once(
    fresh_warnings: None, caplog: pytest.LogCaptureFixture
) -> None:
    page = timed_list(OVER_CAP, newest_last=False, timed=False)
    with caplog.at_level(logging.WARNING, logger="ticker.sources.html"):
        for name in ("one", "two", "one", "two"):
            parse(page, Source(name=name, url=GENERIC_URL, options={"selector": ".t li"}))
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["one", "two"]


def test_a_ticker_within_the_cap_is_not_warned_about(
    fresh_warnings: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="ticker.sources.html"):
        found = parse(timed_list(MAX_LINES, newest_last=False), generic(selector=".t li"))
    assert len(found) == MAX_LINES
    assert caplog.records == []


def test_untimed_items_listed_oldest_first_need_the_order_key(fresh_warnings: None) -> None:
    page = timed_list(OVER_CAP, newest_last=True, timed=False)
    as_listed = parse(page, generic(selector=".t li"))
    assert item_numbers(as_listed)[:2] == [0, 1]  # nothing says which end is newest
    reversed_ = parse(page, generic(selector=".t li", order="oldest-first"))
    assert item_numbers(reversed_) == list(range(OVER_CAP - 1, OVER_CAP - 1 - MAX_LINES, -1))


def test_timed_items_are_newest_first_even_below_the_cap() -> None:
    found = parse(timed_list(3, newest_last=True), generic(selector=".t li"))
    assert item_numbers(found) == [2, 1, 0]


def test_items_are_kept_in_page_order_unless_every_one_has_a_valid_time() -> None:
    def page(*times: str) -> str:
        items = "".join(
            f'<li><time datetime="{when}">-</time> item {n}</li>' if when else f"<li>item {n}</li>"
            for n, when in enumerate(times, start=1)
        )
        return f'<ul class="t">{items}</ul>'

    source = generic(selector=".t li")
    assert item_numbers(parse(page("08:00Z", "", "2026-11-29T09:00Z"), source)) == [1, 2, 3]
    dated = ("2026-11-29T08:00Z", "2026-11-29T07:00Z", "yesterday")
    assert item_numbers(parse(page(*dated), source)) == [1, 2, 3]
    assert item_numbers(parse(page(*dated[:2], "2026-11-29T09:00+01:00"), source)) == [1, 3, 2]
