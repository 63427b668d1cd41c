"""Presets: sites whose ticker ticker already knows how to find.

A preset gives CSS selectors to try in order and the label of the ticker, used as a
fallback when no selector matches (the site's markup could not be checked from here,
so no preset may depend on a single guess).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Preset:
    """How to find one site's ticker lines."""

    name: str
    hosts: frozenset[str]
    selectors: tuple[str, ...]
    labels: tuple[str, ...]


# The editions run one site design, so they share the guesses; none could be checked live.
_LIKELY_SELECTORS = (
    ".breaking-news li",
    ".breakingNews li",
    ".breaking-news .swiper-slide",
    "#breaking-news li",
    ".urgent-news li",
)

ALMAYADEEN_ENGLISH = Preset(
    name="almayadeen-en",
    hosts=frozenset({"english.almayadeen.net"}),
    selectors=_LIKELY_SELECTORS,
    labels=("BREAKING", "BREAKING NEWS"),
)
# Labels are compared as `html.label_key` reads them: without case, accents, vowel marks,
# tatweel or the punctuation around them, so "عـاجـل:" and "Ultima hora" match too.
ALMAYADEEN_ARABIC = Preset(
    name="almayadeen-ar",
    hosts=frozenset({"www.almayadeen.net", "almayadeen.net"}),
    selectors=_LIKELY_SELECTORS,
    labels=("عاجل",),  # "urgent": the strip's label
)
ALMAYADEEN_SPANISH = Preset(
    name="almayadeen-es",
    hosts=frozenset({"espanol.almayadeen.net"}),
    selectors=_LIKELY_SELECTORS,
    labels=("ÚLTIMA HORA",),
)

PRESETS: tuple[Preset, ...] = (ALMAYADEEN_ENGLISH, ALMAYADEEN_ARABIC, ALMAYADEEN_SPANISH)


def preset_for(url: str) -> Preset | None:
    """The preset of the site at `url`, if ticker knows it."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")  # "host." is the same host
    for preset in PRESETS:
        if host in preset.hosts:
            return preset
    return None
