"""The registry of source kinds, keyed by the `kind` a [[source]] names in config.

Kinds are imported only when a page is parsed, so loading the config stays cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ticker.config import Source
    from ticker.lines import Line

Parser = Callable[[str, "Source"], list["Line"]]

KIND_MODULES: dict[str, str] = {
    "html": "ticker.sources.html",
}
KIND_NAMES = frozenset(KIND_MODULES)


def parser_for(kind: str) -> Parser:
    """The `parse(page, source)` function of a source kind."""
    module = importlib.import_module(KIND_MODULES[kind])
    parse: Parser = module.parse
    return parse
