"""ticker: follow news sites' BREAKING strips, alert once per new line."""

__version__ = "0.1.0"
