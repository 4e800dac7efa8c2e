"""The Elasticsearch backend in small parts: `client` (one connection per process, the
compatibility header chosen by the server's major version), `errors` (every transport and API
failure as one line of tawthiq's kinds), `queries` (mappings and the query tree as Query DSL),
`backend` (the Backend itself)."""
