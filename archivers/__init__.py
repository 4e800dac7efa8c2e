"""Everything that writes or reads WARC files: records, writer, recovery, reader.

The only package that opens WARC files for writing. Data flows in as captured exchanges and
documents, out as records on disk plus events for the catalog.
"""
