"""The Elasticsearch backend's public names (the code lives in `index.elastic`)."""

from tawthiq.index.elastic.backend import MAX_WINDOW, ElasticsearchBackend
from tawthiq.index.elastic.client import ElasticConfig, connect, forget_clients
from tawthiq.index.elastic.queries import MAPPINGS, compile_query, encode

__all__ = ["MAX_WINDOW", "MAPPINGS", "ElasticConfig", "ElasticsearchBackend", "compile_query", "connect",
           "encode", "forget_clients"]
