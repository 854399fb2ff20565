"""schemathesis against the app's own OpenAPI description, over published data: every GET operation
under /api/v1 and CKAN's datastore_search, with generated valid and invalid parameters, must answer
without a server error; the data routes' answers must also match what the description declares."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from kaifang.auth.actions import do_create_token
from kaifang.auth.models import User
from kaifang.auth.queries import principal_for
from tests.functional.data_world import FIRMS_HEADER, FIRMS_TYPES, Shared, firm_rows, shared_world

NAMES = ["firms", "stops", "roster", "nothing-here"]
FORMATS = ["csv", "xlsx", "json", "parquet", "geojson", "txt"]
# The data routes declare their answers fully; the others are held to "no server error".
DATA_PATHS = ("/api/v1/datasets/{name}/fields", "/api/v1/datasets/{name}/rows",
              "/api/v1/datasets/{name}/aggregate", "/api/v1/datasets/{name}/download.{fmt}",
              "/api/3/action/datastore_search")
EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 15}
DATA_EXAMPLES = {GenerationMode.POSITIVE: 80, GenerationMode.NEGATIVE: 40}


@pytest.fixture(scope="module")
def shared(_db_template, tmp_path_factory) -> Iterator[Shared]:
    datasets = {
        "firms": {"header": FIRMS_HEADER, "rows": firm_rows(25), "types": FIRMS_TYPES},
        "stops": {"header": ["站名", "lng", "lat"], "rows": [["解放碑", 106.577, 29.557], ["朝天门", None, None]],
                  "types": {"lng": "decimal", "lat": "decimal"}},
        "roster": {"header": ["姓名", "工号"], "rows": [["张三", "A1"]], "open_type": "conditional"},
    }
    with shared_world(_db_template, tmp_path_factory.mktemp("fuzz"), datasets) as world:
        yield world


@pytest.fixture(scope="module")
def token(shared) -> str:
    """A verified citizen's token: the signed-in side of every route is fuzzed too."""
    with shared.session() as session:
        citizen = principal_for(session, session.get(User, shared.world.citizen.id))
        _row, secret = do_create_token(session, citizen, "fuzz", None)
        session.commit()
    return secret


@pytest.fixture(scope="module")
def schema(shared):
    return schemathesis.openapi.from_asgi("/api/openapi.json", shared.app)


def operations(schema) -> list:
    found = [result.ok() for result in schema.get_all_operations()]
    return [op for op in found if op.method == "get"
            and (op.path.startswith("/api/v1/") or op.path == "/api/3/action/datastore_search")]


def strategy(operation, mode: GenerationMode, token: str) -> st.SearchStrategy:
    """Cases of ``operation``, mostly about the published datasets rather than random names, sent
    anonymously or with the citizen's token."""
    names = [p.name for p in operation.path_parameters]
    variants: list[dict] = [{}]
    if "name" in names:
        variants = [{"path_parameters": {"name": n, **({"fmt": f} if "fmt" in names else {})}} for n in NAMES
                    for f in (FORMATS if "fmt" in names else [""])]
    elif operation.path == "/api/3/action/datastore_search":
        variants += [{"query": {"resource_id": n}} for n in NAMES]
    signed_in = {"headers": {"Authorization": f"Bearer {token}"}}
    return st.one_of([operation.as_strategy(mode, **v) for v in variants]
                     + [operation.as_strategy(mode, **v, **signed_in) for v in variants])


def test_the_description_covers_the_data_routes(schema):
    paths = {op.path for op in operations(schema)}
    assert set(DATA_PATHS) <= paths


def fuzz(operation, mode: GenerationMode, token: str) -> None:
    checks = [not_a_server_error]
    examples = EXAMPLES[mode]
    if operation.path in DATA_PATHS:
        checks += [status_code_conformance, content_type_conformance]
        if mode is GenerationMode.POSITIVE:
            checks.append(response_schema_conformance)
        examples = DATA_EXAMPLES[mode]

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy(operation, mode, token))
    def run(case) -> None:
        case.call_and_validate(checks=checks)

    run()


@pytest.mark.parametrize("mode", list(EXAMPLES), ids=lambda m: m.value)
def test_no_operation_answers_with_a_server_error(schema, token, mode):
    failures: list[str] = []
    for operation in operations(schema):
        try:
            fuzz(operation, mode, token)
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # nothing to get wrong: no parameters, or only free text
        except (Exception, BaseExceptionGroup) as exc:  # every operation is tried; all failures are named
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:3000])
    assert not failures, "\n\n".join(failures)
