"""Kind `rss`: RSS 2.0, RSS 1.0 and Atom entries as lines (text, key, link, time), malformed
and non-feed documents, hostile documents (URLs, paths, entities, giant items), and polls of
a feed served over loopback (issue 13)."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import feedparser
import pytest
from conftest import Clock, fetch_now, poll_now, source_config
from servers import ScriptedSite

from ticker.config import Source
from ticker.errors import ParseError
from ticker.lines import MAX_KEY_CHARS, MAX_LINE_CHARS
from ticker.sources import kind as kind_module
from ticker.sources import kind_for, rss
from ticker.sources.kind import MAX_LINES, MAX_URL_CHARS
from ticker.store import Store

KINDS = Path(__file__).parent / "data" / "kinds"
FEED_URL = "https://english.almayadeen.net/rss/breaking"
RSS_TYPE = "application/rss+xml; charset=utf-8"


def feed_source(text: str = "title", name: str = "feed", url: str = FEED_URL) -> Source:
    return Source(name=name, url=url, kind="rss", options={"text": text})


def fixture(name: str) -> str:
    return (KINDS / name).read_text(encoding="utf-8")


def read(page: str, text: str = "title", name: str = "feed") -> list[tuple[Any, ...]]:
    """(text, key, link, published) of each line of `page`, in the order parse returns."""
    return [
        (line.text, line.key, line.url, line.published)
        for line in rss.parse(page, feed_source(text, name))
    ]


def rss_doc(*items: str, extra: str = "") -> str:
    """An RSS 2.0 document of `items` (each an <item>'s inner XML)."""
    body = "".join(f"<item>{item}</item>" for item in items)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Breaking</title><link>https://english.almayadeen.net/</link>{extra}{body}"
        "</channel></rss>"
    )


@pytest.fixture(autouse=True)
def fresh_warnings() -> Iterator[None]:
    """Each test sees the once-per-process warnings afresh."""
    kind_module._WARNED.clear()
    yield
    kind_module._WARNED.clear()


# --- the fixtures, line by line -------------------------------------------------------------

BINT_JBEIL = (
    "Al Mayadeen's correspondent: Israeli drones strike a car near Bint Jbeil, south Lebanon"
)
MALKIYEH = "عاجل | المقاومة الإسلامية في لبنان: استهدفنا تجمعاً لجنود الاحتلال في موقع المالكية"
JABALIA = "Gaza Civil Defense spokesman: 14 martyrs recovered from the rubble in Jabalia since dawn"
MALKIYEH_URL = "https://www.almayadeen.net/news/politics/breaking-malkiyeh-812340"
BINT_JBEIL_URL = (
    "https://english.almayadeen.net/news/politics/israeli-drones-strike-a-car-near-bint-jbeil"
)
JABALIA_URL = "https://english.almayadeen.net/news/politics/14-martyrs-recovered-in-jabalia"


def test_rss2_entries_are_lines_with_guid_link_and_time_newest_first() -> None:
    # The feed lists 09:05 UTC (12:05 +0300), 09:12, 08:40: lines come newest first.
    assert read(fixture("rss2.xml")) == [
        # guid isPermaLink="false": the guid is the key, <link> the link
        (BINT_JBEIL, "almayadeen-en-812345", BINT_JBEIL_URL, 1795943520.0),  # 09:12Z
        # guid isPermaLink="true" and no <link>: the guid is both
        (MALKIYEH, MALKIYEH_URL, MALKIYEH_URL, 1795943100.0),  # 09:05Z
        # no guid: the link is the key
        (JABALIA, JABALIA_URL, JABALIA_URL, 1795941600.0),  # 08:40Z
    ]


def test_rss2_title_plus_summary_reads_the_descriptions_html_as_text() -> None:
    found = read(fixture("rss2.xml"), text="title+summary")
    assert [entry[0] for entry in found] == [
        # <p>, <b>, <a> read as text, the <script> dropped
        f"{BINT_JBEIL}. Two people were killed in the strike, local sources said.",
        f"{MALKIYEH}. المقاومة الإسلامية تعلن استهداف تجمع لجنود الاحتلال.",
        f"{JABALIA}. Rescue teams are still searching the ruins of the Abu Nasr family home.",
    ]
    assert [entry[1:] for entry in found] == [entry[1:] for entry in read(fixture("rss2.xml"))]


def test_a_title_plus_summary_line_keeps_the_titles_attribution() -> None:
    line = rss.parse(fixture("rss2.xml"), feed_source("title+summary"))[0]
    assert line.attribution == "Al Mayadeen's correspondent"
    assert line.body.startswith("Israeli drones strike a car near Bint Jbeil, south Lebanon. Two")


def test_rss1_rdf_items_are_keyed_by_their_about_and_timed_by_dc_date() -> None:
    yemen = "https://english.almayadeen.net/news/politics/yemeni-armed-forces-target-ship"
    cairo = "https://english.almayadeen.net/news/politics/hamas-delegation-arrives-in-cairo"
    yemen_text = (
        "Yemeni Armed Forces spokesman: We targeted a ship bound for the ports of "
        "occupied Palestine"
    )
    cairo_text = "Hamas: The delegation arrives in Cairo for a new round of ceasefire talks"
    assert read(fixture("rss1.rdf")) == [
        (yemen_text, yemen, yemen, 1795941900.0),  # 10:45+02:00 = 08:45Z
        (cairo_text, cairo, cairo, 1795937400.0),  # 07:30Z
    ]
    summaries = [entry[0] for entry in read(fixture("rss1.rdf"), text="title+summary")]
    # an item without a description is its title alone
    assert summaries == [yemen_text, f"{cairo_text}. The delegation is headed by Khalil al-Hayya."]


def test_atom_entries_use_id_alternate_link_xml_base_and_published_else_updated() -> None:
    base = "https://espanol.almayadeen.net/noticias/"
    assert read(fixture("atom.xml")) == [
        (
            "Corresponsal de Al Mayadeen: bombardeo israelí contra el sur del Líbano",
            "tag:espanol.almayadeen.net,2026:noticia-91001",
            f"{base}politica/91001/bombardeo-sur-libano",  # relative, under the feed's xml:base
            1795943880.0,  # <published> 09:18Z, not <updated> 09:19:30Z
        ),
        (
            # title type="html": its markup read as text
            "Irán: Araghchi llega a Mascate para una nueva ronda de conversaciones",
            "tag:espanol.almayadeen.net,2026:noticia-90990",
            f"{base}mundo/90990/araghchi-mascate",  # under the entry's own xml:base
            1795935720.0,  # <updated> 08:02+01:00 = 07:02Z
        ),
        (
            # an empty title: the summary is the line
            "Fuerzas de ocupación irrumpen en Yenín y Tubas, en Cisjordania.",
            "tag:espanol.almayadeen.net,2026:noticia-90985",
            f"{base}politica/90985/cisjordania",
            1795935300.0,
        ),
    ]
    summaries = [entry[0] for entry in read(fixture("atom.xml"), text="title+summary")]
    assert summaries[0].endswith("sur del Líbano. Dos heridos en Aitaroun.")


def test_a_hundred_item_feed_is_a_hundred_lines_newest_first() -> None:
    # the feed of the parse-time measurement (README, kind rss): oldest first in the file
    found = rss.parse(fixture("rss_100.xml"), feed_source("title+summary"))
    assert len(found) == 100
    assert [line.key for line in found[:2]] == ["almayadeen-en-812099", "almayadeen-en-812098"]
    assert found[0].published == 1795939200.0 + 99 * 60  # 08:00Z + 99 min
    assert found[0].text.endswith(
        "report 99. Two people were killed in strike 99, local sources said."
    )


# --- text, key, link and time rules -----------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        # a title that ends a sentence is not given another full stop
        (
            "<title>Will the talks resume?</title><description>Sources say yes.</description>",
            "Will the talks resume? Sources say yes.",
        ),
        # a summary that only repeats the title is the line, once
        (
            "<title>Strikes near Tyre</title><description>Strikes near Tyre.</description>",
            "Strikes near Tyre.",
        ),
        # a summary that starts with the title is the whole story
        (
            "<title>Strikes near Tyre</title>"
            "<description>Strikes near Tyre: three killed</description>",
            "Strikes near Tyre: three killed",
        ),
        (
            "<description>&lt;p&gt;Only a &lt;b&gt;summary&lt;/b&gt;&lt;/p&gt;</description>",
            "Only a summary",
        ),
    ],
)
def test_title_plus_summary_joins_the_two_as_a_reader_would(item: str, expected: str) -> None:
    assert [entry[0] for entry in read(rss_doc(item), text="title+summary")] == [expected]


def test_an_atom_entry_with_only_content_uses_it_as_its_summary() -> None:
    page = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title><entry><id>e1</id>'
        '<title>Sirens in Haifa</title><content type="html">&lt;p&gt;Interceptions '
        "&lt;i&gt;over the bay&lt;/i&gt;&lt;/p&gt;</content></entry></feed>"
    )
    # the id "e1" is no link: feedparser offers it as one (guidislink), it is not taken
    assert read(page, text="title+summary") == [
        ("Sirens in Haifa. Interceptions over the bay", "e1", None, None)
    ]


def test_an_entry_without_title_uses_its_summary_even_in_title_mode() -> None:
    assert read(rss_doc("<description>Sirens in the Galilee</description><guid>g1</guid>")) == [
        ("Sirens in the Galilee", "g1", None, None)
    ]


def test_entries_without_text_are_skipped_and_an_entry_without_guid_or_link_has_no_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="ticker.sources.rss")
    page = rss_doc("<guid>empty</guid>", "<title>No id at all</title>")
    assert read(page) == [("No id at all", None, None, None)]
    assert "feed: entry 1 has no text, skipped" in caplog.text


def test_an_unreadable_date_is_no_time_and_the_feed_order_stands(
    recwarn: pytest.WarningsRecorder,
) -> None:
    page = rss_doc(
        "<title>First</title><guid>a</guid><pubDate>yesterday at noon</pubDate>",
        "<title>Second</title><guid>b</guid><pubDate>Sun, 29 Nov 2026 09:30:00 GMT</pubDate>",
    )
    assert read(page) == [
        ("First", "a", None, None),
        ("Second", "b", None, 1795944600.0),
    ]
    assert [str(w.message) for w in recwarn] == []  # no feedparser DeprecationWarning


def test_links_are_made_absolute_against_the_feed_url_and_only_http_links_are_kept() -> None:
    page = rss_doc(
        "<title>Relative</title><link>/news/1</link>",
        "<title>Script</title><link>javascript:alert(1)</link>",
    )
    assert [entry[2] for entry in read(page)] == ["https://english.almayadeen.net/news/1", None]


def test_a_guid_that_is_no_url_is_kept_as_the_feed_gives_it() -> None:
    # isPermaLink defaults to true: feedparser would resolve "812345" against a base URL
    assert read(rss_doc("<title>One</title><guid>812345</guid>"))[0][1] == "812345"


def test_enormous_items_are_capped() -> None:
    huge_title = "Breaking " * 50_000
    huge_link = "https://english.almayadeen.net/" + "a" * MAX_URL_CHARS
    huge_guid = "g" * 100_000
    page = rss_doc(
        f"<title>{huge_title}</title><link>{huge_link}</link><guid>{huge_guid}</guid>",
        "<title>Small</title><description>" + "&lt;b&gt;x&lt;/b&gt; " * 50_000 + "</description>",
    )
    found = rss.parse(page, feed_source("title+summary"))
    assert len(found[0].text) == MAX_LINE_CHARS and found[0].text.endswith("\u2026")
    assert found[0].url is None  # a link over MAX_URL_CHARS is no article's
    assert found[0].key is not None and len(found[0].key) == MAX_KEY_CHARS
    # an HTML summary is read within fragment_text's caps (nodes, then characters)
    assert found[1].text.startswith("Small. x x") and found[1].text.endswith("\u2026")
    assert len(found[1].text) <= MAX_LINE_CHARS


def test_a_feed_over_the_cap_keeps_its_first_lines_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    count = rss.MAX_ENTRIES + 100
    page = rss_doc(*(f"<title>Line {n}</title><guid>{n}</guid>" for n in range(count)))
    for _ in range(2):
        found = rss.parse(page, feed_source())
    assert len(found) == MAX_LINES
    assert (found[0].text, found[-1].text) == ("Line 0", f"Line {MAX_LINES - 1}")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"feed: the feed lists {count} entries; the first 2000 are read"]


def test_a_long_feed_is_cut_to_its_first_entries_before_feedparser_reads_it(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # feedparser spends ~0.4 ms an entry on the event loop: 90,000 took 7.5 s
    real, parsed = feedparser.parse, []

    def counting(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        parsed.append((len(result["entries"]), bool(result["bozo"])))
        return result

    monkeypatch.setattr(feedparser, "parse", counting)
    page = rss_doc(*(f"<title>Line {n}</title><guid>{n}</guid>" for n in range(20_000)))
    found = rss.parse(page, feed_source())
    assert parsed == [(rss.MAX_ENTRIES, False)]  # still a well-formed feed
    assert (len(found), found[-1].text) == (MAX_LINES, f"Line {MAX_LINES - 1}")
    assert "the feed lists 20000 entries; the first 2000 are read" in caplog.text


@pytest.mark.parametrize(
    "tail", ["</channel></rss>", "<textinput><title>t</title></textinput></channel></rss>"]
)
def test_first_entries_keeps_what_follows_the_last_entry(tail: str) -> None:
    items = "".join(f"<item><title>{n}</title></item >" for n in range(5))
    page = f"<rss><channel>{items}{tail}"
    assert rss.first_entries(page, 2) == (
        f"<rss><channel><item><title>0</title></item ><item><title>1</title></item >{tail}",
        5,
    )
    assert rss.first_entries(page, 5) == (page, 5)
    assert rss.first_entries(page, 6) == (page, 0)  # fewer than the limit: not counted
    rdf = "<rdf:RDF><channel/>" + "<item><title>x</title></item>" * 3 + "</rdf:RDF>"
    assert (
        rss.first_entries(rdf, 1)[0] == "<rdf:RDF><channel/><item><title>x</title></item></rdf:RDF>"
    )


# --- malformed documents and documents that are no feed --------------------------------------


def test_a_bozo_feed_with_entries_is_read_with_one_warning_per_source(
    caplog: pytest.LogCaptureFixture,
) -> None:
    page = fixture("rss_bozo.xml")  # an unescaped "&" in a title and in a link
    for _ in range(3):
        found = read(page)
    read(page, name="other")
    assert found == [
        (
            "Hezbollah & the Lebanese army: joint statement on the situation in the south",
            "almayadeen-en-812400",
            # feedparser's loose parser reads "&lang" as the HTML entity 〈, as browsers do
            "https://english.almayadeen.net/news/politics/joint-statement?id=1\u2329=en",
            1795944600.0,
        ),
        (
            "Iraqi Resistance: Drone attack on a vital target in the occupied Golan",
            "almayadeen-en-812399",
            "https://english.almayadeen.net/news/politics/iraqi-resistance-golan",
            1795944300.0,
        ),
    ]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    problem = "SAXParseException: <unknown>:8:24: not well-formed (invalid token)"
    assert warnings == [
        f"{name}: the feed is malformed ({problem}); its entries are read anyway"
        for name in ("feed", "other")
    ]


def test_a_bozo_warning_is_short_whatever_the_parser_says(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = feedparser.parse

    def wordy(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        result["bozo"], result["bozo_exception"] = True, ValueError("x" * 100_000)
        return result

    monkeypatch.setattr(feedparser, "parse", wordy)
    assert len(read(rss_doc("<title>One</title>"))) == 1
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warning) < 300 and "ValueError: xxx" in warning


def test_an_html_page_where_a_feed_was_expected_is_a_parse_error_naming_it() -> None:
    with pytest.raises(ParseError) as caught:
        read(fixture("rss_html_page.html"))
    assert str(caught.value) == (
        "rss: not a feed: the document is an HTML page ('Al Mayadeen English | News')"
    )


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("", "rss: not a feed: the document is empty"),
        ("  \n ", "rss: not a feed: the document is empty"),
        ("<html><body><p>Moved</p></body></html>", "rss: not a feed: the document is an HTML page"),
        (
            "<!-- cached --><!DOCTYPE html><title>Log in</title><p>x",
            "rss: not a feed: the document is an HTML page ('Log in')",
        ),
        (
            "garbage, not XML",
            "rss: not a feed: the document is not well-formed XML "
            "(SAXParseException: <unknown>:2:0: syntax error)",
        ),
        (
            '{"items": [{"title": "JSON, not a feed"}]}',
            "rss: not a feed: the document is not well-formed XML "
            "(SAXParseException: <unknown>:2:0: not well-formed (invalid token))",
        ),
        (
            # bozo and no entries: a feed that broke, not an empty one
            '<rss version="2.0"><channel><title>Breaking</chanel></rss>',
            "rss: not a feed: the document is not well-formed XML "
            "(SAXParseException: <unknown>:2:45: mismatched tag)",
        ),
        (
            '<?xml version="1.0"?><sitemap><url>https://x.org/</url></sitemap>',
            "rss: not a feed: an XML document that is neither RSS nor Atom",
        ),
    ],
)
def test_a_document_that_is_no_feed_is_a_parse_error_naming_what_it_is(
    page: str, expected: str
) -> None:
    with pytest.raises(ParseError) as caught:
        read(page)
    assert str(caught.value) == expected


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        # the first HTML sniffing pattern backtracked without end on these (a hung poller)
        ("<!---->" * 9000 + "x", "the document is not well-formed XML"),
        ("<!---->" * 10 + "<!DOCTYPE html><title>Moved</title>", "an HTML page ('Moved')"),
        ("<html><title" + "<title " * 9000, "the document is an HTML page"),
        ("<html>" + "<title>" * 9000 + "x" * 1000, "the document is an HTML page"),
    ],
)
def test_what_a_hostile_non_feed_is_is_told_within_bounded_work(page: str, expected: str) -> None:
    with pytest.raises(ParseError, match=re.escape(expected)):
        read(page)


@pytest.mark.parametrize(
    "page",
    [
        rss_doc(),
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>',
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="x"><title>t</title></channel>'
        "</rdf:RDF>",
    ],
)
def test_a_well_formed_feed_without_entries_is_an_empty_ticker(page: str) -> None:
    assert read(page) == []


def test_a_feed_declared_in_another_charset_is_read_as_fetch_decoded_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # fetch decoded the body by its declaration already; the text is no longer windows-1256
    page = rss_doc("<title>عاجل: غارة على الضاحية</title>").replace("UTF-8", "windows-1256")
    assert read(page) == [("عاجل: غارة على الضاحية", None, None, None)]
    assert not caplog.records  # not a malformed feed


def test_whatever_feedparser_raises_becomes_a_parse_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(feedparser, "parse", crash)
    with pytest.raises(ParseError) as caught:
        read(rss_doc("<title>One</title>"))
    assert str(caught.value) == (
        "rss: the feed cannot be read (RecursionError: maximum recursion depth exceeded)"
    )


# --- feedparser never fetches, opens or expands what a document names ------------------------


_OPENED: list[str] = []
_WATCHED: set[str] = set()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and args and str(args[0]) in _WATCHED:
        _OPENED.append(str(args[0]))


@pytest.fixture
def opened() -> Iterator[tuple[set[str], list[str]]]:
    """(paths to watch, paths opened since): an audit hook records every open() of a
    watched path, whoever makes it (a hook cannot be removed: it watches nothing after)."""
    if _audit not in _HOOKED:
        sys.addaudithook(_audit)
        _HOOKED.append(_audit)
    yield _WATCHED, _OPENED
    _WATCHED.clear()
    _OPENED.clear()


_HOOKED: list[Any] = []


@pytest.fixture
def secret_feed(tmp_path: Path) -> Path:
    """A file holding a valid feed: were it opened, its line would come out."""
    path = tmp_path / "secret-feed.xml"
    path.write_text(rss_doc("<title>SECRET from the local file</title>"), encoding="utf-8")
    return path


def test_feedparser_itself_opens_a_bytes_body_that_names_a_file(
    secret_feed: Path, opened: tuple[set[str], list[str]]
) -> None:
    """The hazard rss.read_feed guards against: bytes are a path to open() too."""
    watched, seen = opened
    watched.update({str(secret_feed), repr(str(secret_feed).encode())})
    watched.add(str(str(secret_feed).encode()))
    result = feedparser.parse(str(secret_feed).encode())
    assert result["entries"][0]["title"] == "SECRET from the local file"
    assert seen


def test_a_body_that_is_a_file_path_is_not_opened(
    secret_feed: Path, opened: tuple[set[str], list[str]]
) -> None:
    watched, seen = opened
    watched.update({str(secret_feed), str(str(secret_feed).encode())})
    for body in (str(secret_feed), f"{secret_feed}\n", f"file://{secret_feed}"):
        with pytest.raises(ParseError) as caught:
            read(body)
        assert "not well-formed XML" in str(caught.value)
    assert seen == []


def test_a_body_that_is_a_url_is_not_fetched() -> None:
    with ScriptedSite.serving(
        rss_doc("<title>SECRET from the network</title>"), content_type=RSS_TYPE
    ) as site:
        for body in (site.url, f"{site.url}\n", f"feed:{site.url}"):
            with pytest.raises(ParseError):
                read(body)
        assert site.paths == []


def with_doctype(page: str, declarations: Sequence[str], separator: str) -> str:
    """`page` with a DOCTYPE of `declarations`, joined by `separator`."""
    doctype = f"<!DOCTYPE rss [{separator}{separator.join(declarations)}{separator}]>"
    return page.replace("<rss", f"{doctype}<rss", 1)


LAUGHS = ['<!ENTITY lol0 "lol">'] + [
    f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)
]


@pytest.mark.parametrize(
    ("separator", "problem"),
    [
        # one declaration a line: feedparser drops every entity declaration but those of
        # a character reference before expat sees them; &lol9; is then undefined
        ("\n", "undefined entity"),
        # all on one line, feedparser's pattern misses them: expat (2.4 and later) stops at
        # its amplification limit, and the loose parser knows only the safe entities
        ("", "limit on input amplification factor (from DTD and entities) breached"),
    ],
)
def test_nested_entities_are_not_expanded(
    separator: str, problem: str, caplog: pytest.LogCaptureFixture
) -> None:
    items = ("<title>&lol9;</title><guid>a</guid>", "<title>Plain</title><guid>b</guid>")
    page = with_doctype(rss_doc(*items), LAUGHS, separator)
    assert read(page) == [("&lol9;", "a", None, None), ("Plain", "b", None, None)]
    assert problem in caplog.text


@pytest.mark.parametrize(
    ("separator", "title"),
    [
        ("\n", "Leak: &xxe;"),  # the declaration dropped by feedparser: an unknown entity
        ("", "Leak:"),  # seen by expat, which is told not to read external entities
    ],
)
def test_an_external_entity_is_not_read(
    separator: str, title: str, tmp_path: Path, opened: tuple[set[str], list[str]]
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET", encoding="utf-8")
    watched, seen = opened
    watched.add(str(secret))
    declaration = f'<!ENTITY xxe SYSTEM "file://{secret}">'
    page = with_doctype(
        rss_doc("<title>Leak: &xxe;</title><guid>a</guid>"), [declaration], separator
    )
    assert read(page) == [(title, "a", None, None)]
    assert seen == []


# --- the kind's declarations --------------------------------------------------------------------


def test_the_rss_kind_declares_text_and_checks_its_value() -> None:
    kind = kind_for("rss")
    assert [(key.name, key.default) for key in kind.keys] == [("text", "title")]
    assert kind.check({"text": "title"}, FEED_URL) is None
    assert kind.check({"text": "title+summary"}, FEED_URL) is None
    assert kind.check({"text": "summary"}, FEED_URL) == (
        "text",
        'expected "title" or "title+summary", got \'summary\'',
    )
    assert kind.describe(feed_source("title+summary")) == "feed, text 'title+summary'"
    assert "RSS or Atom" in kind.layout_advice(feed_source())


# --- polls over loopback ----------------------------------------------------------------------


ITEM_A = "<title>Strikes reported near Tyre</title><guid>a</guid>"
ITEM_B = "<title>Hamas: The delegation arrives in Cairo</title><guid>b</guid>"
ITEM_C = "<title>Sirens sound in the Upper Galilee</title><guid>c</guid>"


def test_a_feed_polls_a_baseline_then_alerts_a_new_entry_once(tmp_path: Path, store: Store) -> None:
    clock = Clock()
    later = rss_doc(ITEM_C, ITEM_A, ITEM_B)
    with ScriptedSite.serving(
        rss_doc(ITEM_A, ITEM_B), later, later + " ", content_type=RSS_TYPE, etag=False
    ) as site:
        config = source_config(tmp_path, {"name": "feed", "url": site.url, "kind": "rss"})
        first = poll_now(config, store, clock)
        clock.now += 30
        second = poll_now(config, store, clock)
        clock.now += 30
        third = poll_now(config, store, clock)
    assert first.record is not None and first.record.baseline and not first.record.alerts
    assert second.record is not None and len(second.record.alerts) == 1
    assert third.record is not None and not third.record.new
    assert [alert.text for alert in store.recent_alerts(10)] == [
        "Sirens sound in the Upper Galilee"
    ]


def test_a_title_changed_under_the_same_guid_keeps_its_key(tmp_path: Path) -> None:
    edited = ITEM_A.replace("near Tyre", "near Tyre, three killed")
    with ScriptedSite.serving(
        rss_doc(ITEM_A, ITEM_B), rss_doc(edited, ITEM_B), content_type=RSS_TYPE
    ) as site:
        config = source_config(tmp_path, {"name": "feed", "url": site.url, "kind": "rss"})
        before = [(line.key, line.text) for line in fetch_now(config)]
        after = [(line.key, line.text) for line in fetch_now(config)]
    assert before[0] == ("a", "Strikes reported near Tyre")
    assert after[0] == ("a", "Strikes reported near Tyre, three killed")
    assert before[1] == after[1]


@pytest.mark.parametrize("content_type", ["application/atom+xml", "text/xml", "text/html"])
def test_a_feed_is_fetched_whatever_xml_type_it_is_served_as(
    tmp_path: Path, content_type: str
) -> None:
    with ScriptedSite.serving(fixture("atom.xml"), content_type=content_type) as site:
        config = source_config(tmp_path, {"name": "feed", "url": site.url, "kind": "rss"})
        assert len(fetch_now(config)) == 3


def test_a_broken_feed_is_a_layout_failure_and_the_next_good_poll_recovers(
    tmp_path: Path, store: Store
) -> None:
    clock = Clock()
    good = rss_doc(ITEM_A, ITEM_B)
    broken = '<rss version="2.0"><channel><title>Breaking</chanel></rss>'
    with ScriptedSite.serving(
        good, broken, fixture("rss_html_page.html"), good, content_type=RSS_TYPE, etag=False
    ) as site:
        config = source_config(tmp_path, {"name": "feed", "url": site.url, "kind": "rss"})
        outcomes = []
        for _ in range(4):
            outcomes.append(poll_now(config, store, clock))
            clock.now += 30
            if len(outcomes) == 3:
                state = store.source_state("feed")
    assert outcomes[1].error is not None and outcomes[1].error.startswith("rss: not a feed: ")
    assert outcomes[2].error == (
        "rss: not a feed: the document is an HTML page ('Al Mayadeen English | News')"
    )
    assert state is not None and (state.consecutive_failures, state.layout_failures) == (2, 2)
    last = outcomes[3]
    assert last.error is None and last.record is not None and not last.record.new
    recovered = store.source_state("feed")
    assert recovered is not None
    assert (recovered.consecutive_failures, recovered.layout_failures) == (0, 0)
    assert store.recent_alerts(10) == []
