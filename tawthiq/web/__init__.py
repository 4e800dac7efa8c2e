"""`tawthiq serve`: the web app (FastAPI, server-rendered Jinja2 pages, a JSON API under /api).

It calls the same services as the CLI (index.search, tawthiq.sources, tawthiq.exporting,
archivers.verify); nothing here re-implements them.
"""
