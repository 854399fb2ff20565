"""Every route declares who may use it (an Access dependency), so none is open by accident."""

from __future__ import annotations

from fastapi.routing import APIRoute

from kaifang.http.access import Access


def _declared(route: APIRoute) -> list[Access]:
    found: list[Access] = []
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, Access):
            found.append(dep.call)
        stack.extend(dep.dependencies)
    return found


def test_every_route_declares_access(app):
    missing = [f"{sorted(r.methods)} {r.path}" for r in app.routes
               if isinstance(r, APIRoute) and not _declared(r)]
    assert missing == []


def test_every_page_route_checks_csrf(app):
    from kaifang.web.csrf import csrf_protect
    for route in app.routes:
        if isinstance(route, APIRoute) and not route.path.startswith(("/api", "/healthz")):
            calls = [d.call for d in route.dependant.dependencies]
            assert csrf_protect in calls, route.path
