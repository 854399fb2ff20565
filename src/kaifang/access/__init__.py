"""Data access: who may read what (scopes and grants), the query engine over version replicas,
row pages, aggregates, downloads, the access log, usage feedback, withdrawal and leak tracing.

Importing the package registers the usage-feedback workflow on the case engine."""

from kaifang.access import feedback

__all__ = ["feedback"]
