"""The registry of source kinds, keyed by the `kind` a [[source]] names in config.

Each entry names the module of one kind; the module's `KIND` is the `Kind` (ticker.sources.
kind) that declares its keys and parses its pages. Adding a kind is adding a module and one
entry here. A kind module imports its parser library inside `parse`, so that loading the
config (which reads the declarations) stays cheap.
"""

from __future__ import annotations

import importlib

from ticker.sources.kind import Kind

KIND_MODULES: dict[str, str] = {
    "html": "ticker.sources.html",
    "telegram": "ticker.sources.telegram",
    "json": "ticker.sources.jsondoc",
    "rss": "ticker.sources.rss",
}


def kind_names() -> list[str]:
    """The names of every kind, sorted."""
    return sorted(KIND_MODULES)


def kind_for(name: str) -> Kind:
    """The kind called `name`; KeyError if there is none."""
    kind: Kind = importlib.import_module(KIND_MODULES[name]).KIND
    return kind
