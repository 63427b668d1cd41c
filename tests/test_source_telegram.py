"""Kind `telegram`: a public channel's web preview (t.me/s/NAME) read into lines: each
post's own text (not the quote it replies to), emoji kept, external links spelled out, the
post id as key, its link and time, newest first; an empty channel is an empty ticker, a
contact page or an unknown layout a clear ParseError; caps hold on hostile pages; and the
daemon polls it like any source (issue 13)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Clock, poll_now, source_config
from hypothesis import given, settings
from hypothesis import strategies as st
from servers import Reply, ScriptedSite

from ticker.cli import main
from ticker.config import Source
from ticker.errors import ParseError
from ticker.lines import MAX_LINE_CHARS
from ticker.sources import kind_for, telegram
from ticker.sources.kind import MAX_LINES
from ticker.store import Store

DATA = Path(__file__).resolve().parent / "data" / "kinds"
URL = "https://t.me/s/AlMayadeenNews"
SOURCE = Source(name="tg", url=URL, kind="telegram")
KIND = kind_for("telegram")


def fixture(name: str) -> str:
    return (DATA / f"telegram_{name}.html").read_text(encoding="utf-8")


def at(hhmmss: str) -> float:
    """Unix seconds of 2026-11-29 HH:MM:SS UTC, the fixtures' day."""
    hour, minute, second = (int(part) for part in hhmmss.split(":"))
    return datetime(2026, 11, 29, hour, minute, second, tzinfo=UTC).timestamp()


def post_url(number: int) -> str:
    return f"https://t.me/AlMayadeenNews/{number}"


def parsed(
    page: str, source: Source = SOURCE
) -> list[tuple[str, str | None, str | None, float | None]]:
    return [(line.text, line.key, line.url, line.published) for line in KIND.parse(page, source)]


RAIDS = (
    "Israeli occupation aircraft launch a series of raids on the outskirts of Aita al-Shaab, "
    "southern Lebanon"
)
SIRENS = (
    "Al Mayadeen correspondent: Sirens sound in the settlements of the Upper Galilee "
    "Live coverage: english.almayadeen.net/news/politics/live-coverage "
    "Full report: Read more (https://english.almayadeen.net/news/politics/sirens-upper-galilee) "
    "#Lebanon"
)
HAMAS = "Hamas: The delegation will arrive in Cairo tomorrow to continue the talks"
HAMAS_EDITED = "Hamas: The delegation arrived in Cairo tonight to continue the talks"
REPLY = "Update: the raids targeted the outskirts of Aita al-Shaab and Ramyeh"
ARABIC = "🔴 عاجل | مراسل الميادين: غارة إسرائيلية على أطراف بلدة عيتا الشعب جنوبي لبنان #لبنان"
FORWARDED = "🔥 ÚLTIMA HORA: Incendio en el puerto de Haifa tras el impacto de un misil"
CAPTION = "Smoke rises over the port of Haifa after the strike"
NEW_POST = "Lebanese army deploys reinforcements along the southern border 📹 Video to follow"

EXPECTED = [
    (CAPTION, "AlMayadeenNews/2109", post_url(2109), 1795938740.0),
    (FORWARDED, "AlMayadeenNews/2108", post_url(2108), 1795938359.0),
    (ARABIC, "AlMayadeenNews/2107", post_url(2107), 1795938012.0),
    (REPLY, "AlMayadeenNews/2106", post_url(2106), 1795937507.0),
    (HAMAS, "AlMayadeenNews/2105", post_url(2105), 1795936800.0),
    (SIRENS, "AlMayadeenNews/2103", post_url(2103), 1795936205.0),
    (RAIDS, "AlMayadeenNews/2102", post_url(2102), 1795935761.0),
]


# --- the preview page -----------------------------------------------------------------------


def test_a_preview_page_gives_each_posts_text_key_link_and_time_newest_first() -> None:
    # 2101 (a service message) and 2104 (a photo without caption) have no line.
    assert parsed(fixture("channel")) == EXPECTED
    # The kind knows the preview's order: a source's `order` changes nothing.
    oldest_first = Source(name="tg", url=URL, kind="telegram", order="oldest-first")
    assert parsed(fixture("channel"), oldest_first) == EXPECTED
    assert at("07:52:20") == 1795938740.0  # the floats above are the fixture's times


def test_the_same_page_a_poll_later_has_the_new_post_first_and_the_edited_text() -> None:
    later = parsed(fixture("channel_later"))
    assert later[0] == (NEW_POST, "AlMayadeenNews/2110", post_url(2110), at("08:03:09"))
    assert later[1:] == [
        (HAMAS_EDITED, key, url, when) if key == "AlMayadeenNews/2105" else (text, key, url, when)
        for text, key, url, when in EXPECTED
    ]


def test_a_reply_is_its_own_text_without_the_quoted_post() -> None:
    lines = {line.key: line for line in KIND.parse(fixture("channel"), SOURCE)}
    assert lines["AlMayadeenNews/2106"].text == REPLY
    assert RAIDS not in lines["AlMayadeenNews/2106"].text


def test_arabic_and_emoji_are_kept_as_written() -> None:
    lines = {line.key: line for line in KIND.parse(fixture("channel"), SOURCE)}
    arabic = lines["AlMayadeenNews/2107"]
    assert arabic.text == ARABIC  # logical order, no bidi control added or reordering
    assert arabic.attribution == "🔴 عاجل | مراسل الميادين"
    assert lines["AlMayadeenNews/2108"].text.startswith("🔥 ")


def test_a_channel_with_no_posts_is_an_empty_ticker() -> None:
    assert KIND.parse(fixture("empty"), SOURCE) == []


def test_a_page_of_only_media_and_service_posts_is_an_empty_ticker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    page = preview(
        post(7, None, extra='<a class="tgme_widget_message_photo_wrap" href="/x"></a>'),
        post(8, "Channel created", classes="service_message"),
    )
    with caplog.at_level(logging.DEBUG, logger="ticker.sources.telegram"):
        assert KIND.parse(page, SOURCE) == []
    messages = [record.getMessage() for record in caplog.records]
    assert "telegram: post Chan/7 has no text (media only), skipped" in messages
    assert "telegram: post Chan/8 is a service message, skipped" in messages


def test_a_contact_page_says_the_channel_has_no_public_preview() -> None:
    with pytest.raises(ParseError) as caught:
        KIND.parse(fixture("not_a_channel"), SOURCE)
    assert str(caught.value) == (
        'telegram: the channel has no public preview: t.me answers with its contact page ("Mayadeen'
        ' Desk"), as for a user, a bot, a group or a private or unknown channel'
    )


@pytest.mark.parametrize(
    ("page", "described"),
    [
        pytest.param(
            "<html><head><title>Just a moment...</title></head><body><p>Checking</p></body></html>",
            'an HTML page titled "Just a moment..."',
            id="other-page",
        ),
        pytest.param(
            fixture("channel").replace("tgme_", "tg2_"),
            'an HTML page titled "Al Mayadeen News – Telegram"',
            id="renamed-classes",
        ),
        pytest.param("", "an HTML page with no title", id="empty-body"),
        pytest.param('{"ok": true}', "an HTML page with no title", id="json"),
    ],
)
def test_a_page_with_neither_posts_nor_a_channel_header_is_a_layout_error(
    page: str, described: str
) -> None:
    with pytest.raises(ParseError) as caught:
        KIND.parse(page, SOURCE)
    assert str(caught.value) == (
        "telegram: no messages and no channel header: the page layout may have changed "
        f"({described})"
    )


# --- links, order, ids ----------------------------------------------------------------------


CHANNEL_HEADER = (
    '<div class="tgme_channel_info"><div class="tgme_channel_info_header_title">'
    "<span>Chan</span></div></div>"
)


def post(
    number: int | None,
    text: str | None,
    *,
    when: str | None = "2026-11-29T07:00:00+00:00",
    extra: str = "",
    classes: str = "",
    date_link: bool = True,
) -> str:
    """One post of a preview page, in the preview's markup."""
    data_post = f' data-post="Chan/{number}"' if number is not None else ""
    body = f'<div class="tgme_widget_message_text js-message_text">{text}</div>' if text else ""
    time = f'<time datetime="{when}" class="time">07:00</time>' if when else ""
    date = (
        f'<a class="tgme_widget_message_date" href="https://t.me/Chan/{number}">{time}</a>'
        if date_link
        else time
    )
    return (
        f'<div class="tgme_widget_message_wrap"><div class="tgme_widget_message {classes}"'
        f'{data_post}><div class="tgme_widget_message_bubble">{extra}{body}'
        f'<div class="tgme_widget_message_footer"><span class="tgme_widget_message_meta">'
        f"{date}</span></div></div></div></div>"
    )


def preview(*posts: str) -> str:
    """A preview page with the channel header and `posts`, oldest first."""
    return (
        "<!DOCTYPE html><html><head><title>Chan – Telegram</title></head><body>"
        f'{CHANNEL_HEADER}<section class="tgme_channel_history">{"".join(posts)}</section>'
        "</body></html>"
    )


def texts(page: str, url: str = "https://t.me/s/Chan") -> list[str]:
    return [line.text for line in KIND.parse(page, Source(name="s", url=url, kind="telegram"))]


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        pytest.param(
            'Report: <a href="https://www.almayadeen.net/news/1">Read more</a>',
            "Report: Read more (https://www.almayadeen.net/news/1)",
            id="external-named",
        ),
        pytest.param(
            'See <a href="https://www.almayadeen.net/news/1">almayadeen.net/news/1</a>',
            "See almayadeen.net/news/1",
            id="shows-its-url",
        ),
        pytest.param(
            'See <a href="https://www.almayadeen.net/news/a-long-story">'
            "https://www.almayadeen.net/news/a-lo…</a>",
            "See https://www.almayadeen.net/news/a-lo…",
            id="shows-its-url-shortened",
        ),
        pytest.param(
            'See <a href="https://example.org/evil">almayadeen.net/news/1</a>',
            "See almayadeen.net/news/1 (https://example.org/evil)",
            id="shows-another-url",
        ),
        pytest.param(
            'Via <a href="https://t.me/AlMayadeenEspanol">@AlMayadeenEspanol</a> '
            '<a href="https://t.me/Chan/3">earlier post</a> <a href="?q=%23Gaza">#Gaza</a>',
            "Via @AlMayadeenEspanol earlier post #Gaza",
            id="within-telegram",
        ),
        pytest.param(
            '<a href="https://www.almayadeen.net/photo.jpg">\u200b</a>Strike in Tyre',
            "Strike in Tyre",
            id="hidden-preview-link",
        ),
        pytest.param(
            '<a href="javascript:alert(1)">Click</a> and <a href="tg://resolve?domain=x">open</a>',
            "Click and open",
            id="not-http",
        ),
        pytest.param(
            "One<br/>two<br><br>three <b>bold</b><i>italic</i> "
            '<i class="emoji" style="background-image:url(x)"><b>🚨</b></i>!',
            "One two three bolditalic 🚨!",
            id="breaks-and-formatting",
        ),
        pytest.param(
            '<tg-emoji emoji-id="5368324170671202286"><i class="emoji"><b>⚡</b></i></tg-emoji>'
            "Breaking",
            "⚡ Breaking",
            id="custom-emoji",
        ),
    ],
)
def test_a_posts_text_keeps_visible_text_and_spells_out_external_links(
    markup: str, text: str
) -> None:
    assert texts(preview(post(1, markup))) == [text]


def test_a_link_to_the_pages_own_host_is_not_spelled_out() -> None:
    page = preview(post(1, 'Tag <a href="/s/Chan?q=%23Gaza">#Gaza</a> <a href="/x">more</a>'))
    assert texts(page, "http://127.0.0.1:8080/s/Chan") == ["Tag #Gaza more"]


def test_posts_without_a_time_are_ordered_by_post_number() -> None:
    page = preview(
        post(10, "ten", when=None),
        post(12, "twelve"),
        post(11, "eleven", when="not a time"),
    )
    lines = KIND.parse(page, SOURCE)
    assert [(line.text, line.published) for line in lines] == [
        ("twelve", 1795935600.0),
        ("eleven", None),
        ("ten", None),
    ]


def test_posts_are_ordered_by_time_when_every_post_has_one() -> None:
    page = preview(
        post(1, "first", when="2026-11-29T07:00:00+00:00"),
        post(2, "second", when="2026-11-29T09:30:00+02:00"),  # 07:30 UTC
        post(3, "third, no zone: UTC", when="2026-11-29T07:45:00"),
    )
    lines = KIND.parse(page, SOURCE)
    assert [(line.key, line.published) for line in lines] == [
        ("Chan/3", at("07:45:00")),
        ("Chan/2", at("07:30:00")),
        ("Chan/1", at("07:00:00")),
    ]


def test_a_post_without_a_date_link_links_to_its_post_id_and_one_without_an_id_has_no_key() -> None:
    page = preview(post(5, "five", date_link=False), post(None, "no id", date_link=False))
    lines = KIND.parse(page, SOURCE)
    assert [(line.text, line.key, line.url) for line in lines] == [
        ("no id", None, None),
        ("five", "Chan/5", "https://t.me/Chan/5"),
    ]


def test_a_repeated_text_keeps_the_newest_post() -> None:
    page = preview(post(1, "Same words", when=None), post(2, "same words!", when=None))
    assert [line.key for line in KIND.parse(page, SOURCE)] == ["Chan/2"]


# --- hostile pages --------------------------------------------------------------------------


def test_an_enormous_post_is_capped() -> None:
    page = preview(post(1, "word " * 100_000 + '<a href="https://x.org/">link</a>' * 10_000))
    (line,) = KIND.parse(page, SOURCE)
    assert len(line.text) <= MAX_LINE_CHARS and line.text.endswith("\u2026")


def test_a_page_of_thousands_of_posts_keeps_the_newest_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    count = telegram.MAX_MESSAGES + 500
    page = preview(*(post(n, f"post number {n}", when=None) for n in range(1, count + 1)))
    source = Source(name="huge", url="https://t.me/s/Chan", kind="telegram")
    with caplog.at_level(logging.WARNING, logger="ticker.sources.telegram"):
        first = KIND.parse(page, source)
        KIND.parse(page, source)
    assert len(first) == MAX_LINES
    assert (
        first[0].text == f"post number {count}" and first[-1].key == f"Chan/{count - MAX_LINES + 1}"
    )
    warnings = [record.getMessage() for record in caplog.records]
    assert warnings == [
        f"huge: the preview lists {count} posts, more than ticker reads "
        f"({telegram.MAX_MESSAGES}); the newest {telegram.MAX_MESSAGES} are read and the rest "
        "ignored"
    ]


def test_posts_nested_ten_thousand_deep_are_read_each_once() -> None:
    depth = 10_000
    nested = '<div class="tgme_widget_message" data-post="Chan/1">' * depth
    page = preview(nested + post(2, "the real post"))
    lines = KIND.parse(page, SOURCE)
    assert [line.text for line in lines] == ["the real post"]


def test_unclosed_formatting_tags_are_defused_and_the_posts_still_read() -> None:
    n = 300
    bomb = "<div>" + "".join(f"<b id={i}>" for i in range(n)) + "</div>" + "<p>x</p>" * n
    page = preview(post(1, "Hamas: <b>talks</b> resume <a href='https://x.org/'>here</a>")) + bomb
    reply = (
        '<a class="tgme_widget_message_reply" href="https://t.me/Chan/1">'
        '<div class="tgme_widget_message_text js-message_reply_text">the quote</div></a>'
    )
    page = page.replace("</section>", post(2, "the answer", extra=reply) + "</section>")
    lines = KIND.parse(page, SOURCE)
    # The anchors went with the formatting tags: the link comes from the post id, and the
    # quote, no longer inside its <a>, is still known by its own class.
    assert [(line.text, line.url) for line in lines] == [
        ("the answer", "https://t.me/Chan/2"),
        ("Hamas: talks resume here", "https://t.me/Chan/1"),
    ]


# --- the kind's declarations ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://t.me/s/AlMayadeenNews",
        "https://t.me/s/AlMayadeenNews/",
        "http://127.0.0.1:8080/s/almayadeen_news",
        "https://telegram.me/s/abcd?q=%23Gaza",
    ],
)
def test_check_accepts_a_web_preview_url_on_any_host(url: str) -> None:
    assert KIND.check({}, url) is None


def test_check_points_a_channel_page_url_to_its_web_preview() -> None:
    assert KIND.check({}, "https://t.me/AlMayadeenNews") == (
        "url",
        "https://t.me/AlMayadeenNews is the channel's page, which lists no posts; "
        "use its web preview, https://t.me/s/AlMayadeenNews",
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://t.me/s/",
        "https://t.me/s/abc",  # too short for a username
        "https://t.me/s/" + "a" * 33,
        "https://t.me/s/AlMayadeenNews/2105",  # one post, not the channel
        "https://t.me/joinchat/AAAAAEhZ",
        "https://t.me/s/al-mayadeen",
        "https://t.me/",
    ],
)
def test_check_refuses_what_is_not_a_channels_web_preview(url: str) -> None:
    problem = KIND.check({}, url)
    assert problem == (
        "url",
        "expected a public channel's web preview, https://t.me/s/NAME (NAME: the channel's "
        f"username, 4-32 letters, digits or underscores), got {url}",
    )


def test_the_kind_has_no_keys_and_says_how_it_knows_a_post() -> None:
    assert KIND.keys == ()
    assert KIND.identity.startswith("the post id (data-post")
    assert KIND.describe(SOURCE) == "channel AlMayadeenNews"
    assert "text/html" in KIND.media_types


def test_ticker_kinds_lists_the_telegram_kind() -> None:
    result = CliRunner().invoke(main, ["kinds"])
    assert result.exit_code == 0, result.output
    assert "\ntelegram:\n  A public Telegram channel, read from its web preview" in result.output
    assert 'lines are identified by the post id (data-post, "NAME/123")' in result.output


# --- polled by the daemon ---------------------------------------------------------------------


def test_a_polled_channel_alerts_its_new_post_once_and_survives_a_changed_layout(
    tmp_path: Path, store: Store
) -> None:
    clock = Clock()
    changed = "<html><head><title>Telegram</title></head><body><p>New look</p></body></html>"
    replies = [fixture("channel"), fixture("channel_later"), changed, fixture("channel_later")]
    with ScriptedSite([Reply(body=replies[0])]) as site:
        url = f"{site.base_url}/s/AlMayadeenNews"
        config = source_config(tmp_path, {"name": "tg", "url": url, "kind": "telegram"})
        outcomes, layout_failures = [], []
        for body in replies:
            site.replies = [Reply(body=body)]
            outcomes.append(poll_now(config, store, clock))
            state = store.source_state("tg")
            layout_failures.append(state.layout_failures if state is not None else None)
            clock.step(60)
    baseline, later, broken, recovered = outcomes
    assert baseline.record is not None and baseline.record.baseline
    assert len(baseline.record.new) == len(EXPECTED)
    assert later.record is not None and not later.record.baseline
    alerted = [alert.text for alert in store.recent_alerts(100)]
    assert alerted.count(NEW_POST) == 1
    assert set(alerted) <= {NEW_POST, HAMAS_EDITED}  # the edited post, however the store judges it
    assert broken.error is not None and broken.error.startswith(
        "telegram: no messages and no channel header: the page layout may have changed"
    )
    assert layout_failures == [0, 0, 1, 0]  # counted for health, reset by the recovery
    assert recovered.error is None
    assert [alert.text for alert in store.recent_alerts(100)] == alerted  # nothing again


def test_check_hides_a_password_in_the_url_it_quotes() -> None:
    problem = KIND.check({}, "https://me:s3cret@t.me/AlMayadeenNews")
    assert problem is not None and "s3cret" not in problem[1]


# The pieces a fuzzed preview page is made of: the preview's own markup, broken and nested.
PIECES = [
    '<div class="tgme_widget_message" data-post="Chan/7">',
    '<div class="tgme_widget_message service_message" data-post="Chan/8">',
    '<div class="tgme_widget_message" data-post="x/">',
    '<div class="tgme_widget_message_text js-message_text">',
    '<a class="tgme_widget_message_reply" href="https://t.me/Chan/1">',
    '<a class="tgme_widget_message_date" href="https://t.me/Chan/7">',
    '<a class="tgme_widget_message_date" href="javascript:x">',
    '<time datetime="2026-11-29T07:00:00+00:00">',
    '<time datetime="0001-01-01T00:00:00+14:00">',
    '<time datetime="nonsense">',
    '<a href="https://example.org/a">',
    '<a href="http://[::1">',
    '<i class="emoji"><b>🔥</b></i>',
    "<br>",
    "<b>",
    "</div>",
    "</a>",
    "Hamas: talks",
    "عاجل",
    '<div class="tgme_channel_info">',
    '<div class="tgme_page">',
]


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(pieces=st.lists(st.sampled_from(PIECES), max_size=60))
def test_any_page_of_preview_markup_gives_lines_or_a_parse_error(pieces: list[str]) -> None:
    try:
        lines = KIND.parse("".join(pieces), SOURCE)
    except ParseError as exc:
        assert str(exc).startswith("telegram: ")
        return
    for line in lines:
        assert line.text and line.key in (None, "Chan/7")
        assert line.url is None or line.url.startswith(("https://", "http://"))


def test_an_exception_from_reading_the_page_is_a_parse_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def deep(page: str, source: Source) -> list[object]:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(telegram, "parse", deep)
    with pytest.raises(ParseError) as caught:
        KIND.parse("<p>", SOURCE)
    assert str(caught.value) == (
        "telegram: the page could not be read (RecursionError('maximum recursion depth exceeded'))"
    )
