"""Kind `html`: the ticker lines of an HTML page, found by CSS selector or by its label.

Order of attempts: the source's own `selector`; else the preset's selectors; then, if the
source has a `label` or a preset, the element whose text is that label ("BREAKING") and
the items of the first list that follows it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from ticker.config import Source
from ticker.errors import ParseError
from ticker.lines import Line, clean_text
from ticker.sources.presets import preset_for

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
    }
)
_SKIPPED = frozenset({"script", "style", "noscript", "template", "svg", "head"})
_LIST_TAGS = frozenset({"ul", "ol"})
MAX_LINES = 500  # a ticker has a handful of lines; a page that yields thousands is not one
_ANCESTOR_STEPS = 4  # how far up from the label the list may start
_MAX_SIBLINGS = 6  # how many following siblings of each ancestor are searched


def node_text(node: LexborNode) -> str:
    """The visible text of `node`, with a space at element boundaries that separate words."""
    parts: list[str] = []
    stack: list[LexborNode | str] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            continue
        if item.is_text_node:
            parts.append(item.text_content or "")
            continue
        if item.tag in _SKIPPED or not item.is_element_node:
            continue
        spacer = "" if item.tag in _INLINE else " "
        children = list(item.iter(include_text=True))
        stack.append(spacer)
        stack.extend(reversed(children))
        stack.append(spacer)
    return "".join(parts)


def _link_of(node: LexborNode, base_url: str) -> str | None:
    anchor = node if node.tag == "a" else node.css_first("a[href]")
    href = anchor.attributes.get("href") if anchor is not None else None
    if not href:
        return None
    absolute = urljoin(base_url, href.strip())
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None


def lines_of(nodes: Iterable[LexborNode], base_url: str) -> list[Line]:
    """One Line per node that has text, in page order, duplicates within the page dropped."""
    lines: list[Line] = []
    seen: set[str] = set()
    for node in nodes:
        text = clean_text(node_text(node))
        if not text:
            continue
        line = Line.from_text(text, url=_link_of(node, base_url))
        if line.fingerprint not in seen:
            seen.add(line.fingerprint)
            lines.append(line)
        if len(lines) >= MAX_LINES:
            break
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


def _is_label(node: LexborNode, labels: set[str]) -> bool:
    own = clean_text(node.text(deep=False)).casefold()
    if own in labels:
        return True
    return (
        not own and len(_children(node)) == 0 and clean_text(node_text(node)).casefold() in labels
    )


def find_label(tree: LexborHTMLParser, labels: Iterable[str]) -> LexborNode | None:
    """The first element whose own text is one of `labels` (case-insensitive)."""
    wanted = {label.casefold() for label in labels}
    root = tree.body or tree.root
    if root is None:
        return None
    for node in root.traverse():
        if node.is_element_node and node.tag not in _SKIPPED and _is_label(node, wanted):
            return node
    return None


def items_after_label(tree: LexborHTMLParser, labels: Iterable[str]) -> list[LexborNode] | None:
    """The items of the first list that follows the element labelled with one of `labels`.

    None if there is no such label or no list near it; [] if the list is there but empty.
    """
    label = find_label(tree, labels)
    anchor = label
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
    try:
        return list(tree.css(selector))
    except SelectolaxError as exc:
        raise ParseError(f"invalid CSS selector {selector!r}: {exc}") from None


def parse(page: str, source: Source) -> list[Line]:
    """The ticker lines of `page`, fetched from `source.url`, in page order.

    Raises ParseError if the ticker cannot be found at all (the layout may have changed).
    An empty ticker that is found returns [].
    """
    tree = LexborHTMLParser(page)
    preset = preset_for(source.url)
    selectors = [source.selector] if source.selector else list(preset.selectors if preset else [])
    for selector in selectors:
        nodes = _select(tree, selector)
        if nodes:
            return lines_of(nodes, source.url)
    labels = [source.label] if source.label else list(preset.labels if preset else [])
    if labels:
        items = items_after_label(tree, labels)
        if items is not None:
            return lines_of(items, source.url)
    tried = " or ".join(repr(s) for s in selectors)
    tried = f"{tried} matched nothing" if tried else "no selector"
    label_note = f", no list after a {' / '.join(labels)} label" if labels else ""
    raise ParseError(f"ticker not found: {tried}{label_note}")
