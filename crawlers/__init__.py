"""Scrapy spiders, the post model and the wire-level recording hook.

Spiders turn pages into posts and follow links; `wire` captures each HTTP exchange as it
crossed the network; `recorder` hands those captures to a sink (the capture session), which
archives them. Nothing here knows about the catalog or search.
"""
