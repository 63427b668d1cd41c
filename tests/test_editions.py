"""The Al Mayadeen editions as presets (Arabic, Spanish), their labels as real pages write
them, and right-to-left text through every place ticker shows a line."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest
from apprise.plugins.email import NotifyEmail
from apprise.plugins.telegram import NotifyTelegram
from click.testing import CliRunner
from conftest import Clock, database_for, untouched
from pipeline import Pipeline
from selectolax.lexbor import LexborHTMLParser
from servers import PageServer, SmtpSink, TelegramFake

from ticker.cli import main
from ticker.config import Config, Source, load_config
from ticker.errors import ParseError
from ticker.lines import Line, clean_text, split_attribution
from ticker.notify import escape_markup, format_group, format_message, rtl_marked, to_html
from ticker.sources.html import label_key, parse
from ticker.sources.presets import ALMAYADEEN_ARABIC, ALMAYADEEN_SPANISH, preset_for
from ticker.store import AlertView, Delivery
from ticker.tail import as_json, as_text

DATA = Path(__file__).parent / "data"
REAL = DATA / "real_strips" / "arabic-strips.json"
ARABIC = Source(name="almayadeen-ar", url="https://www.almayadeen.net/")
SPANISH = Source(name="almayadeen-es", url="https://espanol.almayadeen.net/")
RLM = "\u200f"

# The Arabic fixture's strip, newest first: (text, attribution, is a real captured line).
ARABIC_STRIP = [
    ("مراسل الميادين: طائرات F-16 إسرائيلية تحلّق على علو منخفض فوق مدينة صور",
     "مراسل الميادين", False),
    ("CNN: مسؤولون أميركيون يؤكدون وصول المبعوث Steve Witkoff إلى الدوحة", "CNN", False),
    ("مراسل الميادين: استشهاد ٣ مواطنين في غارة إسرائيلية على بلدة عيتا الشعب",
     "مراسل الميادين", False),
    ("الأمم المتحدة (UN): 1.9 مليون نازح في قطاع غزة منذ ٧ تشرين الأول/أكتوبر",
     "الأمم المتحدة (UN)", False),
    ("44 شهيدا بنيران الاحتلال منذ فجر اليوم في قطاع غزة", None, True),
    ("نيويورك تايمز: هدنة محتملة بلبنان لـ60 يوما", "نيويورك تايمز", True),
    ('حريق سوق البالة "كبير جدًا" والأضرار تُقدّر بـ700 ألف دينار', None, True),
    ("عاجل- إسرائيل تتهيأ لسيناريو هجوم أمريكي على إيران مع توقع إطلاق رشقات صاروخية مكثفة",
     None, True),
    ("قائد القطاع الغربي في اليونيفيل: مستمرون بدعم الجيش اللبناني",
     "قائد القطاع الغربي في اليونيفيل", True),
    ("«الصحة» تقدم نصائح مهمة لمواجهة التقلبات الجوية والعواصف الترابية", None, True),
]  # fmt: skip
SPANISH_STRIP = [
    ("Corresponsal de Al Mayadeen: El Ejército libanés continúa sus investigaciones en la "
     "zona de Matn", "Corresponsal de Al Mayadeen"),
    ("Hamás: «Cualquier negociación debe conducir al fin de la guerra y a la retirada "
     "completa»", "Hamás"),
    ("¿Hacia dónde va la tregua? Fuentes egipcias señalan avances en El Cairo", None),
    ("¡Atención! La Defensa Civil de Gaza pide evitar la calle Salah al-Din", None),
    ("España y Noruega exigen a la UE suspender el acuerdo de asociación con «Israel»", None),
    ("Un niño de 12 años, entre los heridos del bombardeo en Jan Yunis", None),
]  # fmt: skip


def page(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def by_selector(markup: str) -> str:
    """The fixture's markup renamed so that a preset selector finds its strip."""
    return (
        markup.replace('class="ajel-strip"', 'class="breaking-news"')
        .replace('class="barra-urgente"', 'class="breaking-news"')
        .replace('class="barra-item"', 'class="swiper-slide"')
    )


def real_arabic_lines() -> list[str]:
    return [
        line for strip in json.loads(REAL.read_text(encoding="utf-8")) for line in strip["lines"]
    ]


# --- presets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "preset"),
    [
        ("https://www.almayadeen.net/", ALMAYADEEN_ARABIC),
        ("https://almayadeen.net/news/politics", ALMAYADEEN_ARABIC),
        ("https://WWW.AlMayadeen.net./", ALMAYADEEN_ARABIC),
        ("https://espanol.almayadeen.net/", ALMAYADEEN_SPANISH),
        ("https://almayadeen.net.example.org/", None),
        ("https://news.almayadeen.net/", None),
    ],
)
def test_the_editions_are_chosen_by_host(url: str, preset: object) -> None:
    assert preset_for(url) is preset


@pytest.mark.parametrize(
    "written",
    [
        "عاجل",
        "عـاجـل",
        "عـــاجــــل :",
        "عَاجِل",
        "⚡ عاجل |",
        ":عاجل",
        "— عاجل —",
        "\ufecb\ufe8e\ufe9f\ufede",
    ],
)
def test_the_arabic_label_matches_as_pages_write_it(written: str) -> None:
    assert label_key(written) == label_key("عاجل")


@pytest.mark.parametrize(
    "written",
    [
        "ÚLTIMA HORA",
        "Última hora",
        "ULTIMA HORA",
        "última  hora:",
        "¡Última hora!",
        "«ÚLTIMA HORA»",
    ],
)
def test_the_spanish_label_matches_in_any_case_with_or_without_accents(written: str) -> None:
    assert label_key(written) == label_key("ÚLTIMA HORA")


@pytest.mark.parametrize(
    ("written", "label"),
    [
        ("عاجل: مجلس الأمن يعقد جلسة طارئة حول غزة", "عاجل"),  # a headline holding the word
        ("عاجل- إسرائيل تتهيأ لسيناريو هجوم", "عاجل"),
        ("عاجلة", "عاجل"),  # "urgent" (feminine): another word
        ("أخبار عاجلة", "عاجل"),
        ("آجل", "عاجل"),  # "deferred": one letter apart
        ("La última hora de Gaza, minuto a minuto", "ÚLTIMA HORA"),
        ("ÚLTIMA", "ÚLTIMA HORA"),
        ("ÚLTIMA-HORA", "ÚLTIMA HORA"),
        ("hora última", "ÚLTIMA HORA"),
    ],
)
def test_words_near_a_label_are_not_the_label(written: str, label: str) -> None:
    assert label_key(written) != label_key(label)


# --- the fixtures -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "preset"),
    [("almayadeen_ar.html", ALMAYADEEN_ARABIC), ("almayadeen_es.html", ALMAYADEEN_SPANISH)],
)
def test_no_preset_selector_matches_the_fixture_only_its_label_does(fixture, preset) -> None:
    tree = LexborHTMLParser(page(fixture))
    assert all(not tree.css(selector) for selector in preset.selectors)
    assert any(LexborHTMLParser(by_selector(page(fixture))).css(s) for s in preset.selectors)


@pytest.mark.parametrize("variant", [str, by_selector], ids=["by-label", "by-selector"])
def test_the_arabic_strip_gives_exactly_its_lines(variant) -> None:
    found = parse(variant(page("almayadeen_ar.html")), ARABIC)
    assert [(line.text, line.attribution) for line in found] == [(t, a) for t, a, _ in ARABIC_STRIP]
    assert [line.url for line in found] == [
        f"https://www.almayadeen.net/news/ajel/{n}" for n in range(2001, 2011)
    ]
    assert all(line.body and not line.body.startswith(":") for line in found)


@pytest.mark.parametrize("variant", [str, by_selector], ids=["by-label", "by-selector"])
def test_the_spanish_strip_gives_exactly_its_lines(variant) -> None:
    found = parse(variant(page("almayadeen_es.html")), SPANISH)
    assert [(line.text, line.attribution) for line in found] == SPANISH_STRIP
    assert found[0].url == "https://espanol.almayadeen.net/noticias/urgente/3001"


@pytest.mark.parametrize(
    ("fixture", "label", "source", "count"),
    [
        ("almayadeen_ar.html", "عـاجـل", ARABIC, len(ARABIC_STRIP)),
        ("almayadeen_es.html", "Última hora:", SPANISH, len(SPANISH_STRIP)),
    ],
)
def test_the_selector_variants_need_no_label(fixture, label, source, count) -> None:
    markup = by_selector(page(fixture))
    assert label in markup
    assert len(parse(markup.replace(label, ""), source)) == count


def test_without_its_label_a_headline_holding_the_word_is_not_taken_for_it() -> None:
    without_label = page("almayadeen_ar.html").replace("عـاجـل", "")
    assert '<h3 class="headline">عاجل: ' in without_label  # followed by a list
    with pytest.raises(ParseError, match="عاجل"):
        parse(without_label, ARABIC)


def test_the_fixture_lines_marked_real_are_real() -> None:
    real = set(real_arabic_lines())
    assert [text for text, _, is_real in ARABIC_STRIP if is_real] == [
        text for text, _, _ in ARABIC_STRIP if text in real
    ]
    assert sum(is_real for _, _, is_real in ARABIC_STRIP) == 6


def test_the_bidi_mark_in_the_page_is_not_in_the_line() -> None:
    assert "&rlm;CNN" in page("almayadeen_ar.html")
    found = parse(page("almayadeen_ar.html"), ARABIC)
    assert all(RLM not in line.text for line in found)


# --- cleaning keeps Arabic as written -----------------------------------------------------

_CONTROLS = "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def letters(text: str) -> str:
    """Everything but white space and bidi controls, in order."""
    return "".join(c for c in text if not c.isspace() and c not in _CONTROLS)


def test_clean_text_only_changes_spacing_of_every_real_arabic_line() -> None:
    real = real_arabic_lines()
    assert len(real) == 53
    for raw in real:
        assert unicodedata.normalize("NFC", raw) == raw  # NFC leaves them as written
        assert letters(clean_text(raw)) == letters(raw), raw


def test_bidi_controls_go_and_the_letters_stay_in_order() -> None:
    for raw in real_arabic_lines():
        words = raw.split(" ")
        marked = "\u200f" + " \u2067".join(words) + "\u2069\u202b\u202c\u061c"
        assert clean_text(marked) == clean_text(raw)


def test_vowel_marks_tatweel_and_both_kinds_of_digits_are_kept() -> None:
    raw = "تُقدّر بـ700 ألف و٣ مواطنين عَاجِل"
    assert clean_text(raw) == raw
    assert clean_text(unicodedata.normalize("NFD", raw)) == unicodedata.normalize("NFC", raw)
    assert Line.from_text(raw).text == raw


@pytest.mark.parametrize(
    ("text", "attribution", "body"),
    [
        (
            "مراسل الميادين: استشهاد ٣ مواطنين في غارة",
            "مراسل الميادين",
            "استشهاد ٣ مواطنين في غارة",
        ),
        ("مراسل الميادين : غارة على صور", "مراسل الميادين", "غارة على صور"),
        ("CNN: مسؤولون أميركيون يؤكدون", "CNN", "مسؤولون أميركيون يؤكدون"),
        ("مسؤول أمني للقناة 14: بعد فترة طويلة", "مسؤول أمني للقناة 14", "بعد فترة طويلة"),
        ("عاجل- إسرائيل تتهيأ لسيناريو هجوم", None, "عاجل- إسرائيل تتهيأ لسيناريو هجوم"),
        ("44 شهيدا بنيران الاحتلال", None, "44 شهيدا بنيران الاحتلال"),
    ],
)
def test_arabic_attributions_are_split_off(text: str, attribution: str | None, body: str) -> None:
    line = Line.from_text(text)
    assert (line.attribution, line.body) == (attribution, body)
    assert split_attribution(line.text) == (attribution, body)


# --- every channel shows the line in logical order ---------------------------------------


def delivery(text: str, url: str | None = "https://www.almayadeen.net/news/ajel/1") -> Delivery:
    line = Line.from_text(text)
    return Delivery(
        id=1, alert_id=1, channel="c", attempts=0, created=0.0, next_attempt=0.0,
        source="almayadeen-ar", text=line.text, attribution=line.attribution, body=line.body,
        url=url, first_seen=0.0,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "marked"),
    [
        ("طائرات F-16 إسرائيلية تحلّق فوق صور", False),  # starts Arabic: already right to left
        ("44 شهيدا بنيران الاحتلال", False),  # digits are weak: the Arabic after them decides
        ("F-16 إسرائيلية تحلّق على علو منخفض فوق صور", True),  # would be laid out LTR
        ("Hezbollah: Sayyed Nasrallah said عاجل today", False),  # mostly Latin: left as it is
        ("Hamas: The two delegations met", False),
        ("", False),
    ],
)
def test_a_mostly_arabic_line_that_starts_latin_gets_a_right_to_left_mark(text, marked) -> None:
    assert rtl_marked(text) == (RLM + text if marked else text)


def test_the_message_keeps_arabic_in_logical_order_and_marks_only_what_needs_it() -> None:
    message = format_message(delivery("مراسل الميادين: طائرات F-16 إسرائيلية تحلّق فوق صور"))
    assert (
        message.title == RLM + "almayadeen-ar: مراسل الميادين: طائرات F-16 إسرائيلية تحلّق فوق صور"
    )
    assert (
        message.body == "طائرات F-16 إسرائيلية تحلّق فوق صور\nhttps://www.almayadeen.net/news/ajel/1"
    )
    latin_first = format_message(delivery("F-16 إسرائيلية تحلّق فوق صور", url=None))
    assert latin_first.body == RLM + "F-16 إسرائيلية تحلّق فوق صور"
    burst = format_group([delivery("مراسل: F-16 فوق صور"), delivery("مراسل: 44 شهيدا & <b>")])
    assert burst.body.splitlines()[0] == "\u2022 44 شهيدا & <b>"
    assert burst.body.splitlines()[2] == f"\u2022 {RLM}F-16 فوق صور"


def test_email_html_escapes_arabic_lines_and_leaves_direction_to_the_client() -> None:
    body = format_message(delivery('حريق "كبير جدًا" & <تُقدّر> بـ700', url=None)).body
    assert (
        to_html(body)
        == '<div dir="auto"><p>حريق &quot;كبير جدًا&quot; &amp; &lt;تُقدّر&gt; بـ700</p></div>'
    )
    marked = to_html(format_message(delivery("F-16 فوق صور", url=None)).body)
    assert marked == f'<div dir="auto"><p>{RLM}F-16 فوق صور</p></div>'  # first strong: RLM


def test_email_links_are_isolated_left_to_right_in_an_arabic_alert() -> None:
    body = format_message(delivery("غارة على صور", url="https://www.almayadeen.net/")).body
    assert to_html(body) == (
        '<div dir="auto"><p>غارة على صور</p><p><a dir="ltr" href="https://www.almayadeen.net/">'
        "https://www.almayadeen.net/</a></p></div>"
    )  # the div reads right to left; the link's final "/" stays at its end


def test_desktop_markup_keeps_arabic_as_is() -> None:
    body = format_message(delivery("«الصحة» تقدم نصائح & <مهمة>", url=None)).body
    assert escape_markup(body) == "«الصحة» تقدم نصائح &amp; &lt;مهمة&gt;"


def test_tail_prints_the_logical_order_and_json_keeps_the_characters() -> None:
    text = "CNN: مسؤولون أميركيون يؤكدون وصول المبعوث Steve Witkoff إلى الدوحة"
    alert = AlertView(
        id=3, source="almayadeen-ar", attribution="CNN", text=text, body=text[5:], url=None,
        first_seen=0.0,
    )  # fmt: skip
    assert f"  almayadeen-ar  {text}  [no channel]" in as_text(alert)
    assert RLM not in as_text(alert)
    record = as_json(alert)
    assert text in record and json.loads(record)["text"] == text


# --- through the real channels ------------------------------------------------------------

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
CHAT = "-1001234567890"


def channel_config(tmp_path: Path, url: str) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[ticker]\ndatabase = "{database_for(tmp_path)}"\n'
        '[[source]]\nname = "src"\nurl = "https://example.org/"\nselector = "li"\n'
        f'[[channel]]\nname = "c"\nurls = ["{url}"]\n',
        encoding="utf-8",
    )
    path.chmod(0o600)
    return load_config(path)


def test_telegram_gets_arabic_in_logical_order_escaped_for_its_html(tmp_path, monkeypatch) -> None:
    clock = Clock()
    with TelegramFake(TOKEN, [CHAT], clock=clock) as fake:
        monkeypatch.setattr(NotifyTelegram, "notify_url", fake.api_url)
        pipeline = Pipeline(channel_config(tmp_path, f"tgram://{TOKEN}/{CHAT}"), clock)
        pipeline.show("CNN: مسؤولون <أميركيون> & يؤكدون")
        pipeline.drain()
        pipeline.show("F-16 إسرائيلية تحلّق فوق صور")
        pipeline.drain()
        pipeline.show("44 شهيدا بنيران الاحتلال")
        pipeline.drain()
        pipeline.close()
    assert fake.refusals == []
    assert [m.parse_mode for m in fake.messages] == ["HTML"] * 3
    assert [m.text for m in fake.messages] == [  # the headline, once, read right to left
        RLM + "src: CNN: مسؤولون <أميركيون> & يؤكدون",
        RLM + "src: F-16 إسرائيلية تحلّق فوق صور",
        RLM + "src: 44 شهيدا بنيران الاحتلال",
    ]
    assert "&lt;أميركيون&gt; &amp;" in fake.messages[0].raw


def test_email_parts_carry_the_arabic_line_and_the_html_part_says_dir_auto(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(NotifyEmail, "request_rate_per_sec", 0)
    with SmtpSink() as smtp:
        pipeline = Pipeline(channel_config(tmp_path, smtp.url), Clock())
        pipeline.show("مراسل الميادين: استشهاد ٣ مواطنين في غارة على عيتا الشعب")
        pipeline.drain()
        pipeline.close()
    (message,) = smtp.messages
    assert (
        str(message["Subject"])
        == RLM + "src: مراسل الميادين: استشهاد ٣ مواطنين في غارة على عيتا الشعب"
    )
    parts = {
        p.get_content_type(): p.get_content()
        for p in message.walk()
        if p.get_content_maintype() == "text"
    }
    assert parts["text/plain"].strip() == "استشهاد ٣ مواطنين في غارة على عيتا الشعب"
    assert (
        '<div dir="auto"><p>استشهاد ٣ مواطنين في غارة على عيتا الشعب</p></div>'
        in parts["text/html"]
    )


# --- poll --dry-run of the Arabic fixture on loopback -------------------------------------


def test_poll_dry_run_reads_the_arabic_strip_by_its_label(tmp_path: Path) -> None:
    with PageServer([page("almayadeen_ar.html")]) as site:
        path = tmp_path / "config.toml"
        path.write_text(
            f'[ticker]\ndatabase = "{database_for(tmp_path)}"\n'
            f'[[source]]\nname = "ar"\nurl = "{site.url}"\n'
            'label = "عاجل"\n',
            encoding="utf-8",
        )
        path.chmod(0o600)
        result = CliRunner().invoke(
            main, ["--config", str(path), "poll", "--dry-run", "--source", "ar"]
        )
        by_url = CliRunner().invoke(
            main,
            [
                "--config",
                str(tmp_path / "none.toml"),
                "poll",
                "--dry-run",
                site.url,
                "-o",
                "label=عـاجـل:",
            ],
        )
    for run in (result, by_url):
        assert run.exit_code == 0, run.output
        numbered = [line for line in run.output.splitlines() if re.match(r"\s+\d+\. ", line)]
        assert len(numbered) == len(ARABIC_STRIP)
    assert (
        "  1. [مراسل الميادين] طائرات F-16 إسرائيلية تحلّق على علو منخفض فوق مدينة صور"
        in result.output
    )
    assert "  5. 44 شهيدا بنيران الاحتلال منذ فجر اليوم في قطاع غزة" in result.output
    assert untouched(database_for(tmp_path))  # a dry run writes nothing
