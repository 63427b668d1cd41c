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


ALMAYADEEN_ENGLISH = Preset(
    name="almayadeen-en",
    hosts=frozenset({"english.almayadeen.net"}),
    selectors=(
        ".breaking-news li",
        ".breakingNews li",
        ".breaking-news .swiper-slide",
        "#breaking-news li",
        ".urgent-news li",
    ),
    labels=("BREAKING", "BREAKING NEWS"),
)

PRESETS: tuple[Preset, ...] = (ALMAYADEEN_ENGLISH,)


def preset_for(url: str) -> Preset | None:
    """The preset of the site at `url`, if ticker knows it."""
    host = (urlsplit(url).hostname or "").lower()
    for preset in PRESETS:
        if host in preset.hosts:
            return preset
    return None
