"""Kind `html`: the ticker lines of an HTML page, found by CSS selector or by its label.

Order of attempts: the source's own `selector`; else the preset's selectors; then, if the
source has a `label` or a preset, the element whose text is that label ("BREAKING") and
the items of the first list that follows it.

selectolax is imported when a page is parsed, not with this module: config validation
reads `KIND`'s declarations, and `ticker tail` loads the config.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING, Any

from ticker.errors import ParseError
from ticker.lines import MAX_LINE_CHARS, Line, clean_text, single_spaced
from ticker.sources.kind import MAX_LINES, Key, Kind, absolute_link, iso_time, warn_once
from ticker.sources.presets import preset_for

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser, LexborNode

    from ticker.config import Source

# Inline tags join their text to the neighbours' without a space ("Ha<b>mas</b>");
# every other element is a word boundary ("<span>Hamas:</span><span>The...</span>").
_INLINE = frozenset(
    {
        "a",
        "abbr",
        "b",
        "bdi",
        "bdo",
        "em",
        "font",
        "i",
        "mark",
        "q",
        "s",
        "small",
        "strong",
        "sub",
        "sup",
        "u",
        "code",
        "time",
        "data",
        "big",
        "nobr",
        "strike",
        "tt",
    }
)
_SKIPPED = frozenset({"script", "style", "noscript", "template", "svg", "head"})
_LIST_TAGS = frozenset({"ul", "ol"})
# Work caps: matched elements can nest (a selector "div" on 10,000 nested divs), and reading
# each one's whole subtree would cost the square of the page. A ticker line is a sentence
# with a little markup, so its text is read from at most MAX_ITEM_NODES nodes and
# MAX_ITEM_CHARS characters (then marked cut), and one page reads at most MAX_ITEMS items
# and MAX_READ_NODES nodes in all (a real ticker needs a few thousand).
MAX_ITEMS = 4 * MAX_LINES
MAX_ITEM_NODES = 256
MAX_ITEM_CHARS = 4 * MAX_LINE_CHARS
MAX_READ_NODES = 64 * MAX_LINES
_CUT = "\u2026"
# HTML's formatting elements: the parser re-opens every unclosed one after each closed block,
# so N distinct unclosed ones before N paragraphs make N*N elements (lexbor builds 90,000 for
# 300 of each; a 37 KB page of them took 1.4 GB). Identical ones are re-opened three times at
# most, and real pages leave a few open. When the distinct unclosed ones times the page's end
# tags could exceed MAX_REOPENED elements, `defused` removes these tags before parsing: they
# are inline, so every line's text stays the same; only that page's links are lost. The tag
# pattern stops at the next "<", so a page of "<b <b <b" costs one scan, not one per tag; the
# lookahead on the first letter lets most tags fail at once (0.4 ms for 250 KB, Arabic or not,
# where lower-casing the page first cost up to 1 ms more). HTML's white space is ASCII.
_FORMATTING_TAG = re.compile(
    r"<(?=/?[abcefinstu])"
    r"(/?(?:a|b|big|code|em|font|i|nobr|s|small|strike|strong|tt|u)(?=[\s/>])[^<>]*)>",
    re.IGNORECASE | re.ASCII,
)
MAX_REOPENED = 50_000  # elements; ~20 MB in lexbor. A real 250 KB page has ~5,000 in all
_ANCESTOR_STEPS = 4  # how far up from the label the list may start
_MAX_SIBLINGS = 6  # how many following siblings of each ancestor are searched
MAX_LABEL_TRIES = 4  # labelled elements tried, in page order, for a list near one
_TATWEEL = "\u0640"  # Arabic letter stretching ("عـاجـل"): typography, not spelling
# The punctuation and symbols around a label's words (":", "|", "•", "«»", "¡", "— عاجل —");
# between its words they stay ("ÚLTIMA-HORA" is not "ÚLTIMA HORA").
_LABEL_EDGES = re.compile(r"^[\W_]+|[\W_]+$")
MAX_TIME_NODES = 32  # nodes of an item searched for its time (a <time datetime> in it)
log = logging.getLogger(__name__)


def node_text(
    node: LexborNode, max_nodes: int = MAX_ITEM_NODES, max_chars: int = MAX_ITEM_CHARS
) -> str:
    """The visible text of `node`, with a space at element boundaries that separate words.

    At most `max_nodes` nodes (`node` included) and `max_chars` characters of text are
    read; text cut by either cap ends with an ellipsis.
    """
    return _read_text(node, max_nodes, max_chars)[0]


def _read_text(node: LexborNode, max_nodes: int, max_chars: int) -> tuple[str, int]:
    """`node_text` and the number of nodes it read. Children are read lazily, so a node
    with 100,000 children costs no more than one with `max_nodes`."""
    parts: list[str] = []
    size = 0
    visited = 0
    stack: list[Iterator[LexborNode] | str] = [iter((node,))]
    while stack:
        top = stack[-1]
        if isinstance(top, str):  # the spacer that closes an element
            stack.pop()
            parts.append(top)
            continue
        item = next(top, None)
        if item is None:
            stack.pop()
            continue
        if visited >= max_nodes or size >= max_chars:
            text = "".join(parts)
            return (text + _CUT if text.strip() else text), visited
        visited += 1
        if item.is_text_node:
            text = (item.text_content or "")[: max_chars - size]
            parts.append(text)
            size += len(text)
            continue
        if item.tag in _SKIPPED or not item.is_element_node:
            continue
        spacer = "" if item.tag in _INLINE else " "
        parts.append(spacer)
        stack.append(spacer)
        stack.append(item.iter(include_text=True))
    return "".join(parts), visited


def _link_of(node: LexborNode, base_url: str) -> str | None:
    """The link of `node` (an <a> or an element holding one), as `absolute_link` makes it."""
    anchor = node if node.tag == "a" else node.css_first("a[href]")
    href = anchor.attributes.get("href") if anchor is not None else None
    return absolute_link(href, base_url)


def fragment_text(markup: str) -> str:
    """The visible text of an HTML fragment (a feed item's summary, a JSON item's HTML
    content), read as `node_text` reads a ticker item: within its caps, words kept apart
    at element boundaries."""
    from selectolax.lexbor import LexborHTMLParser

    body = LexborHTMLParser(defused(markup)).body
    return node_text(body) if body is not None else ""


def lines_of(nodes: Iterable[LexborNode], base_url: str) -> list[Line]:
    """One Line per node that has text, in page order, duplicates within the page dropped;
    at most MAX_LINES lines, read within the MAX_ITEMS and MAX_READ_NODES caps."""
    return _capped_lines(nodes, base_url)[0]


def _capped_lines(nodes: Iterable[LexborNode], base_url: str) -> tuple[list[Line], bool]:
    """`lines_of`, and whether a cap left items unread (the ticker is longer than that)."""
    lines: list[Line] = []
    seen: set[str] = set()
    budget = MAX_READ_NODES
    for count, node in enumerate(nodes):
        if count >= MAX_ITEMS or len(lines) >= MAX_LINES or budget <= 0:
            return lines, True
        raw, read = _read_text(node, min(MAX_ITEM_NODES, budget), MAX_ITEM_CHARS)
        budget -= read
        line = Line.from_text(raw)
        if line.text and line.fingerprint not in seen:
            seen.add(line.fingerprint)
            lines.append(replace(line, url=_link_of(node, base_url)))
    return lines, False


def time_of(node: LexborNode) -> datetime | None:
    """When the item `node` was posted, if it says so in machine-readable form: a
    `datetime` attribute (ISO 8601, as <time datetime> has) on it or on one of its first
    MAX_TIME_NODES nodes; a time without a zone is taken as UTC."""
    for element in islice(node.traverse(), MAX_TIME_NODES):
        value = element.attributes.get("datetime")
        if value:
            return iso_time(value)
    return None


def newest_first(items: Sequence[LexborNode], order: str = "newest-first") -> list[LexborNode]:
    """The ticker's items newest first, as lines must be (and as the caps keep the first).

    Items that all carry a time (`time_of`) are ordered by it, newest first, whatever the
    page order (ties keep it); times are read from the first MAX_ITEMS items, the most that
    are read. Otherwise the page order is all there is to know: kept, or reversed for a
    source configured with order = "oldest-first"."""
    ordered = list(items)
    if order == "oldest-first":
        ordered.reverse()
    head = ordered[:MAX_ITEMS]
    times: list[datetime] = []
    for item in head:
        when = time_of(item)
        if when is None:
            return ordered
        times.append(when)
    # sorted() is stable with reverse=True too: items of the same time keep their order.
    by_time = sorted(range(len(head)), key=times.__getitem__, reverse=True)
    return [*(head[index] for index in by_time), *ordered[MAX_ITEMS:]]


def _ticker_lines(items: Sequence[LexborNode], source: Source) -> list[Line]:
    """The lines of the ticker `items`, newest first and capped; a ticker over the cap is
    logged once per source and process (it stays over the cap poll after poll)."""
    lines, capped = _capped_lines(newest_first(items, source.order), source.url)
    if capped:
        warn_once(
            log,
            source.name,
            "cap",
            "%s: the ticker lists %d items, more than ticker reads (%d lines, %d items); "
            "the %d newest lines are kept and the rest ignored",
            source.name,
            len(items),
            MAX_LINES,
            MAX_ITEMS,
            len(lines),
        )
    return lines


def _elements(node: LexborNode | None) -> Iterator[LexborNode]:
    """`node` and its following element siblings."""
    while node is not None:
        if node.is_element_node:
            yield node
        node = node.next


def _children(node: LexborNode) -> list[LexborNode]:
    return list(_elements(node.child))


def list_items(container: LexborNode) -> list[LexborNode] | None:
    """The items of the list `container` is or holds, if it holds one.

    A list is a ul/ol, or an element whose children (two or more) share one tag, as in
    slider markup (div.swiper-wrapper > div.swiper-slide). Single-child wrappers are
    looked through.
    """
    node = container
    for _ in range(8):
        if node.tag in _LIST_TAGS:
            return [c for c in _children(node) if c.tag == "li"]
        children = _children(node)
        if len(children) >= 2 and len({c.tag for c in children}) == 1:
            return children
        nested = node.css_first("ul, ol")
        if len(children) != 1:
            return [c for c in _children(nested) if c.tag == "li"] if nested is not None else None
        node = children[0]
    return None


def label_key(text: str) -> str:
    """The form two labels share when they read the same: NFKD, then without case,
    combining marks (Latin accents, Arabic vowel marks), tatweel and the punctuation or
    symbols around the words ("ÚLTIMA HORA:" and "Ultima hora", "عـاجِـل" and "عاجل").
    Letters, digits and the words' order are kept, so a headline that merely contains the
    label keeps its other words and never equals it. Text that is all punctuation keeps it.
    """
    return _key_of_clean(clean_text(text))


def _key_of_clean(text: str) -> str:
    """`label_key` of text that `clean_text` already cleaned."""
    folded = unicodedata.normalize("NFKD", text).casefold()
    letters = "".join(
        char for char in folded if char != _TATWEEL and unicodedata.category(char) != "Mn"
    )
    return single_spaced(_LABEL_EDGES.sub(" ", letters)) or single_spaced(letters)


def _is_label(node: LexborNode, labels: set[str], longest: int) -> bool:
    """True if the own text of `node` (or, for an element with neither own text nor child
    elements, all its text) reads as one of `labels` (`label_key` forms). Text longer than
    `longest` characters is not compared: most of a page is text, and a label is short."""
    own = clean_text(node.text(deep=False))
    if own:
        return len(own) <= longest and _key_of_clean(own) in labels
    if _children(node):
        return False
    text = clean_text(node_text(node))
    return len(text) <= longest and _key_of_clean(text) in labels


def find_labels(tree: LexborHTMLParser, labels: Iterable[str]) -> Iterator[LexborNode]:
    """The elements whose own text is one of `labels` as `label_key` reads them (case,
    accents, vowel marks, tatweel and surrounding punctuation aside), in page order."""
    wanted = {label_key(label) for label in labels} - {""}
    if not wanted:
        return
    # Room for tatweel, marks and punctuation around the longest label ("عـــاجـــل :").
    longest = 4 * max(len(label) for label in wanted) + 16
    root = tree.body or tree.root
    if root is None:
        return
    for node in root.traverse():
        if node.is_element_node and node.tag not in _SKIPPED and _is_label(node, wanted, longest):
            yield node


def find_label(tree: LexborHTMLParser, labels: Iterable[str]) -> LexborNode | None:
    """The first element whose own text is one of `labels` (see `find_labels`)."""
    return next(find_labels(tree, labels), None)


def items_after_label(tree: LexborHTMLParser, labels: Iterable[str]) -> list[LexborNode] | None:
    """The items of the first list that follows an element labelled with one of `labels`:
    the first such element, or the next one if no list is near it (a stray "BREAKING"
    elsewhere must not hide the ticker), up to MAX_LABEL_TRIES of them.

    None if there is no such label or no list near one; [] if the list is there but empty.
    """
    for label in islice(find_labels(tree, labels), MAX_LABEL_TRIES):
        items = _list_after(label)
        if items is not None:
            return items
    return None


def _list_after(label: LexborNode) -> list[LexborNode] | None:
    """The items of the first list among the next siblings of `label` and its ancestors."""
    anchor: LexborNode | None = label
    for _ in range(_ANCESTOR_STEPS):
        if anchor is None:
            break
        for count, sibling in enumerate(_elements(anchor.next)):
            if count >= _MAX_SIBLINGS:
                break
            items = list_items(sibling)
            if items is not None:
                return items
        anchor = anchor.parent
    return None


def _select(tree: LexborHTMLParser, selector: str) -> list[LexborNode]:
    from selectolax.lexbor import SelectolaxError

    try:
        return list(tree.css(selector))
    except SelectolaxError as exc:
        raise ParseError(f"invalid CSS selector {selector!r}: {exc}") from None


def defused(page: str) -> str:
    """`page` without its formatting tags if the unclosed ones could make the parser build
    more than MAX_REOPENED elements (see _FORMATTING_TAG); otherwise `page` itself."""
    tags = _FORMATTING_TAG.findall(page)  # "b id=1", "/b"
    opened = [tag for tag in tags if tag[0] != "/"]
    unclosed = len(opened) - (len(tags) - len(opened))
    if unclosed <= 0:
        return page
    unclosed = min(unclosed, len({tag.lower() for tag in opened}))
    # Every "<" bounds the end tags from above and is counted three times faster than "</".
    if unclosed * page.count("<") <= MAX_REOPENED or unclosed * page.count("</") <= MAX_REOPENED:
        return page
    return _FORMATTING_TAG.sub("", page)


def parse(page: str, source: Source) -> list[Line]:
    """The ticker lines of `page`, fetched from `source.url`, newest first (`newest_first`):
    in page order unless the items carry times or the source says the site lists its
    oldest first.

    Raises ParseError if the ticker cannot be found at all (the layout may have changed).
    An empty ticker that is found returns [].
    """
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(defused(page))
    preset = preset_for(source.url)
    selector, label = source.options.get("selector"), source.options.get("label")
    selectors = [selector] if selector else list(preset.selectors if preset else [])
    for selector in selectors:
        nodes = _select(tree, selector)
        if nodes:
            return _ticker_lines(nodes, source)
    labels = [label] if label else list(preset.labels if preset else [])
    if labels:
        items = items_after_label(tree, labels)
        if items is not None:
            return _ticker_lines(items, source)
    tried = " or ".join(repr(s) for s in selectors)
    tried = f"{tried} matched nothing" if tried else "no selector"
    label_note = f", no list after a {' / '.join(labels)} label" if labels else ""
    raise ParseError(f"ticker not found: {tried}{label_note}")


class HtmlKind(Kind):
    """An HTML page's BREAKING strip: the items of the elements a CSS `selector` matches,
    or of the first list after the element whose text is `label`. Sites with a preset
    (Al Mayadeen's English, Arabic and Spanish editions: english.almayadeen.net,
    www.almayadeen.net, espanol.almayadeen.net) need neither."""

    name = "html"
    keys = (
        Key("selector", str, "CSS selector of one ticker line", expected="a CSS selector (string)"),
        Key(
            "label",
            str,
            'the text labelling the ticker, e.g. "BREAKING" (used when no selector matches)',
            expected='the text that labels the ticker, e.g. "BREAKING"',
        ),
    )

    def check(self, options: Mapping[str, Any], url: str) -> tuple[str, str] | None:
        """A site without a preset needs a selector or a label."""
        if options.get("selector") or options.get("label") or preset_for(url) is not None:
            return None
        return (
            "selector",
            "missing; expected a CSS selector of one ticker line "
            '(or label = "BREAKING"); only known sites have a preset',
        )

    def parse(self, page: str, source: Source) -> list[Line]:
        """The ticker lines of `page` (see `parse`)."""
        return parse(page, source)

    def describe(self, source: Source) -> str:
        """The source's selector, else its label, else "preset"."""
        for key in self.keys:
            value = source.options.get(key.name)
            if value:
                return f"{key.name} {value!r}"
        return "preset"

    def layout_advice(self, source: Source) -> str:
        """Update the selector or label."""
        return "update its selector or label"


KIND = HtmlKind()
