"""Keyword search: Arabic-aware analysis, query language, tantivy and Elasticsearch (issue 4).

Not built yet: the capture core (issue 2) comes first. This package is reserved so the
layout shows where search will live; it contains no code that pretends to search.
"""
