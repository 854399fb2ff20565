"""Every route declares who may use it (an Access dependency), so none is open by accident."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from kaifang.http.access import Access
from kaifang.http.csrf import api_csrf_protect, csrf_protect


def effective_routes(app: FastAPI) -> Iterator[tuple[str, set[str], Any]]:
    """(path, methods, dependant) of every endpoint, with the dependencies of enclosing routers."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before lazily included routers
        for route in app.routes:
            if isinstance(route, APIRoute):
                yield route.path, route.methods, route.dependant
        return
    for ctx in iter_route_contexts(app.routes):
        dependant = getattr(ctx, "dependant", None)
        if dependant is not None:
            yield ctx.path, set(ctx.methods or ()), dependant


def _calls(dependant: Any) -> list[Any]:
    found, stack = [], list(dependant.dependencies)
    while stack:
        dep = stack.pop()
        found.append(dep.call)
        stack.extend(dep.dependencies)
    return found


def test_every_route_declares_access(app):
    routes = list(effective_routes(app))
    assert len(routes) >= 40, "the route walk found too few routes to mean anything"
    missing = [f"{sorted(m)} {p}" for p, m, d in routes if not any(isinstance(c, Access) for c in _calls(d))]
    assert missing == []


UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def test_every_unsafe_route_checks_csrf(app):
    unsafe = [(p, d) for p, m, d in effective_routes(app) if m & UNSAFE]
    assert len(unsafe) >= 20
    unprotected = [p for p, d in unsafe
                   if not {csrf_protect, api_csrf_protect} & set(_calls(d))]
    assert unprotected == []

