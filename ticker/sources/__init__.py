"""Source kinds: each turns a fetched page into the ticker's lines.

A kind is a module under ticker/sources/ named in `registry.KIND_MODULES`, exposing
`parse(page, source) -> list[Line]`. Adding a kind is adding a module and one entry.
"""

from ticker.sources.registry import KIND_NAMES, parser_for

__all__ = ["KIND_NAMES", "parser_for"]
