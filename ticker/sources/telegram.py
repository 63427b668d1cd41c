"""Kind `telegram`: a public Telegram channel's posts, read from its web preview
(https://t.me/s/NAME), the page t.me serves to browsers without an account.

The preview's markup: each post is a `div.tgme_widget_message` whose `data-post` is
"NAME/123"; its text is the `.tgme_widget_message_text` that is not inside the
`.tgme_widget_message_reply` quote of the post it answers; `a.tgme_widget_message_date`
links to the post (https://t.me/NAME/123) and holds its `<time datetime>`. The page lists
the oldest post first. A channel page carries `.tgme_channel_info` (its header) and
`.tgme_channel_history` (its posts) even when it has no post; a name without a public
preview (a user, a bot, a group, a private or unknown channel) is answered with t.me's
contact page (`.tgme_page`) instead.

selectolax is imported when a page is parsed, not with this module: config validation
reads `KIND`'s declarations, and `ticker tail` loads the config.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ticker.errors import ParseError
from ticker.lines import Line, clean_text
from ticker.redact import redact_url
from ticker.sources.kind import MAX_LINES, Kind, absolute_link, in_order, iso_time, warn_once

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser, LexborNode

    from ticker.config import Source

# A channel's username: Telegram allows 5-32 letters, digits and underscores, starting with
# a letter (4 for collectible names); any 4-32 of them are taken, so a rule Telegram changes
# does not lock a real channel out, while a path such as "/s/" or "/s/a/b" is refused.
_NAME = r"[A-Za-z0-9_]{4,32}"
_PREVIEW_PATH = re.compile(rf"/s/(?P<name>{_NAME})/?")
_CONTACT_PATH = re.compile(rf"/(?P<name>{_NAME})/?")
# data-post: the channel as it spells itself (its case may differ from the URL's) and
# the post's number.
_POST = re.compile(r"(?P<channel>[A-Za-z0-9_]{1,64})/(?P<number>[0-9]{1,12})")
TELEGRAM_HOSTS = frozenset({"t.me", "telegram.me", "telegram.dog", "www.t.me"})
# A preview page lists 20 posts. A page with more is read from its end (the newest), at
# most MAX_MESSAGES of them, and each post's parts (text, date link, time) are looked for
# in at most MAX_MESSAGE_NODES of its nodes, a post within a post not entered: a real post
# has ~60 nodes, and a hostile page of 100,000 nested posts costs one pass, not its square.
MAX_MESSAGES = 4 * MAX_LINES
MAX_MESSAGE_NODES = 1024
MAX_LINK_NODES = 256  # nodes of a post's text searched for links (node_text reads as many)
MAX_TITLE_CHARS = 80  # of the page title quoted in an error
_OPAQUE_TAGS = frozenset({"svg", "script", "style", "template", "noscript"})
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Post:
    """What one post of the preview holds: its text element, link, id and time."""

    text: LexborNode | None
    link: str | None
    key: str | None
    number: int | None
    published: float | None


def _classes(node: LexborNode) -> frozenset[str]:
    return frozenset((node.attributes.get("class") or "").split())


def _elements(
    root: LexborNode, budget: int, opaque: Callable[[LexborNode], bool]
) -> Iterator[LexborNode]:
    """The elements under `root`, in document order, within `budget` nodes visited; an
    element `opaque` accepts is yielded but its children are not visited."""
    stack: list[LexborNode | None] = [root.child]
    while stack and budget > 0:
        node = stack.pop()
        if node is None:
            continue
        budget -= 1
        stack.append(node.next)
        if not node.is_element_node:
            continue
        yield node
        if node.tag not in _OPAQUE_TAGS and not opaque(node):
            stack.append(node.child)


def _time_of(value: str | None) -> float | None:
    """Unix seconds of an ISO 8601 `datetime` attribute (no zone: UTC); None if invalid."""
    when = iso_time(value)
    return when.timestamp() if when is not None else None


def _is_part_boundary(node: LexborNode) -> bool:
    """Parts not searched inside: the post's text (read whole later), the quote of the
    post it replies to (not its text), and a post nested in it (a post of its own)."""
    classes = _classes(node)
    return bool(
        classes & {"tgme_widget_message_text", "tgme_widget_message_reply", "tgme_widget_message"}
    )


def _post_of(message: LexborNode, base_url: str) -> _Post:
    """The parts of the post `message`: the first text element outside the reply quote,
    the date link, and the first valid <time datetime> outside the text and the quote (in
    the preview, the date link's); the link falls back to the post id's t.me link."""
    text: LexborNode | None = None
    link: str | None = None
    published: float | None = None
    for node in _elements(message, MAX_MESSAGE_NODES, _is_part_boundary):
        classes = _classes(node)
        # The quote's text is marked as such too: it stays out when the quote's <a> is
        # gone (`defused` removes anchors from a page of unclosed formatting tags).
        if text is None and "tgme_widget_message_text" in classes:
            text = None if "js-message_reply_text" in classes else node
        elif link is None and "tgme_widget_message_date" in classes:
            link = absolute_link(node.attributes.get("href"), base_url)
        elif published is None and node.tag == "time":
            published = _time_of(node.attributes.get("datetime"))
    post = _POST.fullmatch((message.attributes.get("data-post") or "").strip())
    if link is None and post is not None:  # the preview's own form of a post's link
        link = absolute_link(f"https://t.me/{post[0]}", base_url)
    key = post[0] if post is not None else None
    number = int(post["number"]) if post is not None else None
    return _Post(text=text, link=link, key=key, number=number, published=published)


def _shown(url: str) -> str:
    """`url` as an error may show it: as written, unless it carries a user or password."""
    return redact_url(url) if "@" in urlsplit(url).netloc else url


def _host(url: str | None) -> str:
    try:
        return (urlsplit(url).hostname or "") if url else ""
    except ValueError:
        return ""


def _bare(url: str) -> str:
    """A URL as a post may show it: no scheme, no "www.", no trailing slash, lower case."""
    return (
        re.sub(r"^(?:https?://)?(?:www\.)?", "", url.strip(), flags=re.IGNORECASE)
        .rstrip("/")
        .lower()
    )


def _shows_its_url(shown: str, url: str) -> bool:
    """True if an anchor's visible text is its URL (whole, or shortened with an ellipsis)."""
    shown = _bare(shown.rstrip("\u2026.").strip())
    return bool(shown) and _bare(url).startswith(shown)


def _spell_out_links(text: LexborNode, base_url: str) -> None:
    """Append " (URL)" after each link of the post's text to another site whose visible
    text is not the URL itself ("Read more"), so the reader of an alert sees where it
    leads; links within Telegram (mentions, hashtags, other posts) and links with no
    visible text (the hidden link behind a preview card) stay as their text."""
    from ticker.sources.html import node_text

    own_hosts = TELEGRAM_HOSTS | {_host(base_url)}
    anchors = [
        node
        for node in _elements(text, MAX_LINK_NODES, lambda node: node.tag == "a")
        if node.tag == "a"
    ]
    for anchor in anchors:
        url = absolute_link(anchor.attributes.get("href"), base_url)
        if url is None or _host(url).lower() in own_hosts:
            continue
        shown = clean_text(node_text(anchor))
        if shown and not _shows_its_url(shown, url):
            anchor.insert_after(f" ({url})")


def _line_of(post: _Post, base_url: str) -> Line | None:
    """The line of `post`: its text (links spelled out), link, id and time; None for a post
    with no text (a photo, a video, a sticker without caption)."""
    from ticker.sources.html import node_text

    if post.text is None:
        log.debug("telegram: post %s has no text (media only), skipped", post.key)
        return None
    _spell_out_links(post.text, base_url)
    line = Line.from_text(node_text(post.text), post.link, key=post.key, published=post.published)
    if not line.text:
        log.debug("telegram: post %s has empty text, skipped", post.key)
        return None
    return line


def _messages(tree: LexborHTMLParser, source: Source) -> list[LexborNode]:
    """The posts of the page, oldest first as the preview lists them, the newest
    MAX_MESSAGES of them if there are more (warned about once per source and process)."""
    messages = list(tree.css(".tgme_widget_message"))
    if len(messages) > MAX_MESSAGES:
        warn_once(
            log,
            source.name,
            "cap",
            "%s: the preview lists %d posts, more than ticker reads (%d); "
            "the newest %d are read and the rest ignored",
            source.name,
            len(messages),
            MAX_MESSAGES,
            MAX_MESSAGES,
        )
    return messages[-MAX_MESSAGES:]


def _page_title(tree: LexborHTMLParser, selector: str) -> str:
    """The text of the first element `selector` matches, cleaned and capped."""
    from ticker.sources.html import node_text

    node = tree.css_first(selector)
    return clean_text(node_text(node), MAX_TITLE_CHARS) if node is not None else ""


def _no_posts(tree: LexborHTMLParser) -> ParseError:
    """Why a page with no post is not a channel's preview: t.me's contact page for a name
    without one, or a page ticker does not know (the preview's layout may have changed)."""
    if tree.css_first(".tgme_page") is not None:
        title = _page_title(tree, ".tgme_page_title")
        named = f' ("{title}")' if title else ""
        return ParseError(
            f"telegram: the channel has no public preview: t.me answers with its contact "
            f"page{named}, as for a user, a bot, a group or a private or unknown channel"
        )
    title = _page_title(tree, "title")
    page = f'an HTML page titled "{title}"' if title else "an HTML page with no title"
    return ParseError(
        f"telegram: no messages and no channel header: the page layout may have changed ({page})"
    )


def _newest_first(found: list[tuple[Line, int | None]]) -> list[Line]:
    """The lines of the posts `found` in page order (oldest first), newest first: by post
    number when every post has one (a post without a time keeps its place), then by
    time by `in_order` when every line has one."""
    ordered = list(reversed(found))
    if all(number is not None for _, number in ordered):
        ordered.sort(key=lambda pair: pair[1] or 0, reverse=True)
    return in_order(line for line, _ in ordered)


def parse(page: str, source: Source) -> list[Line]:
    """The posts of a channel's web preview `page`, fetched from `source.url`, newest
    first, at most MAX_LINES; service messages and posts without text are skipped.

    A channel page with no post is an empty ticker ([]); a page with neither posts nor a
    channel header raises ParseError, saying whether t.me answered with a contact page
    (no public preview) or the layout is unknown."""
    from selectolax.lexbor import LexborHTMLParser

    from ticker.sources.html import defused

    tree = LexborHTMLParser(defused(page))
    messages = _messages(tree, source)
    if not messages:
        if tree.css_first(".tgme_channel_info, .tgme_channel_history") is not None:
            return []
        raise _no_posts(tree)
    found: list[tuple[Line, int | None]] = []
    for message in messages:
        post = _post_of(message, source.url)
        if "service_message" in _classes(message):
            log.debug("telegram: post %s is a service message, skipped", post.key)
            continue
        line = _line_of(post, source.url)
        if line is not None:
            found.append((line, post.number))
    return _newest_first(found)


class TelegramKind(Kind):
    """A public Telegram channel, read from its web preview: url = "https://t.me/s/NAME".
    Each post is a line: its text (line breaks as spaces, emoji kept, a link's visible
    text followed by its URL when that text is not the URL and the link leaves Telegram),
    its link (https://t.me/NAME/123) and its time. Service messages and posts with no text
    (a photo without caption) are skipped. No keys."""

    name = "telegram"
    identity = 'the post id (data-post, "NAME/123"): an edited post is an update of its story'

    def check(self, options: Mapping[str, Any], url: str) -> tuple[str, str] | None:
        """The URL must be a channel's web preview, https://t.me/s/NAME (on any host, so
        that a copy of the page can be served from elsewhere)."""
        try:
            parts = urlsplit(url)
            shown = _shown(url)
        except ValueError:  # "http://[::1": config refuses it before, but say so anyway
            parts, shown = urlsplit(""), repr(url)
        if _PREVIEW_PATH.fullmatch(parts.path):
            return None
        contact = _CONTACT_PATH.fullmatch(parts.path)
        if contact is not None:
            preview = parts._replace(path=f"/s/{contact['name']}", query="", fragment="")
            return (
                "url",
                f"{shown} is the channel's page, which lists no posts; use its "
                f"web preview, {_shown(preview.geturl())}",
            )
        return (
            "url",
            "expected a public channel's web preview, https://t.me/s/NAME (NAME: the "
            f"channel's username, 4-32 letters, digits or underscores), got {shown}",
        )

    def parse(self, page: str, source: Source) -> list[Line]:
        """The posts of `page` (see `parse`); whatever goes wrong reading it is a
        ParseError, never another exception."""
        try:
            return parse(page, source)
        except (ValueError, TypeError, KeyError, IndexError, RecursionError) as exc:
            raise ParseError(f"telegram: the page could not be read ({exc!r:.200})") from None

    def describe(self, source: Source) -> str:
        """The channel's name, from its URL."""
        found = _PREVIEW_PATH.fullmatch(urlsplit(source.url).path)
        return f"channel {found['name']}" if found else "telegram"

    def layout_advice(self, source: Source) -> str:
        """Check that the preview still lists the channel's posts."""
        return "check that its URL still shows the channel's posts in a browser"


KIND = TelegramKind()
