"""Pure page parsers, one per platform format: HTML/XML in, posts out (no crawling)."""
