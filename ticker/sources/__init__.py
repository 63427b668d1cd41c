"""Source kinds: each turns a fetched page into the ticker's lines.

A kind is a module under ticker/sources/ named in `registry.KIND_MODULES`, whose `KIND`
(a `kind.Kind`) declares its config keys and has `parse(page, source) -> list[Line]`.
Adding a kind is adding a module and one entry.
"""

from ticker.sources.kind import Key, Kind
from ticker.sources.registry import kind_for, kind_names

__all__ = ["Key", "Kind", "kind_for", "kind_names"]
