"""Data access: who may read what (scopes and grants), the query engine over version replicas,
row pages, aggregates, downloads, the access log, and leak tracing."""
