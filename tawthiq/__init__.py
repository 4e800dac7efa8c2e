"""tawthiq: capture open-source evidence into standard web archives, and find it again.

This package is the glue (settings, catalog, capture session, CLI); the work is done in the
rooms beside it: crawlers/, archivers/, dedupe/, index/.
"""

__version__ = "0.1.0"
