"""The SQLite (SQLAlchemy) catalog: sources, runs, WARC files, record index, posts, failures."""

from tawthiq.catalog.store import Catalog, RecordFacts

__all__ = ["Catalog", "RecordFacts"]
