"""Per-request facts (request id, client address) for logs and audit events."""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("kaifang_request_id", default="")
client_ip_var: ContextVar[str] = ContextVar("kaifang_client_ip", default="")
