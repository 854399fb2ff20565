"""Set-up shared by the grant, withdrawal and tracing tests: a conditional dataset of residents
with two identifier columns (a mobile number pseudonymised in the version, a resident ID declared
personal and kept), grantees, and downloads served through the real download path."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from kaifang.access import log as access_log
from kaifang.access.downloads import logged_stream, open_download, parse_download
from kaifang.access.engine import QueryEngine
from kaifang.access.grants import do_create_grant
from kaifang.access.log import Access, Who
from kaifang.access.models import Channel, Grant
from kaifang.access.scope import access_data, still_serving
from kaifang.auth.models import User
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import principal_for
from kaifang.cases.clocks import china_today
from kaifang.catalog.models import CatalogEntry
from kaifang.config import Settings
from kaifang.db import make_session_factory
from tests.factories import make_user
from tests.unit.access.helpers import DataWorld, publish_entry
from tests.unit.ingest.labelled_columns import mobiles, valid_resident_ids

HEADER = ["姓名", "手机号", "身份证号", "所在区", "年龄"]
DISTRICTS = ("海州区", "连云区", "赣榆区", "灌云县")
SURNAMES = "王李张刘陈杨黄赵吴周"


def resident_rows(n: int, seed: int = 7) -> list[list[Any]]:
    rng = random.Random(seed)
    return [[f"{rng.choice(SURNAMES)}{i:04d}", mobile, rid, DISTRICTS[i % len(DISTRICTS)], 18 + i % 60]
            for i, (mobile, rid) in enumerate(zip(mobiles(n), valid_resident_ids(n), strict=True))]


def publish_residents(session: Session, settings: Settings, world: DataWorld, name: str = "residents",
                      n: int = 400, **extra: Any) -> CatalogEntry:
    return publish_entry(session, settings, world, name, HEADER, resident_rows(n), open_type="conditional",
                         types={"年龄": "integer"}, plan={"columns": {"手机号": {"action": "pseudonym"}}},
                         sensitivity={"身份证号": "personal"}, **extra)


def grantee(session: Session, settings: Settings, username: str) -> Principal:
    user = make_user(session, settings, username, verified=True)
    session.commit()
    return principal_for(session, user)


def grant_for(session: Session, world: DataWorld, entry: CatalogEntry, who: Principal, *,
              columns: Sequence[str] = tuple(HEADER), row_filter: Sequence[dict[str, Any]] = (),
              modes: Sequence[str] = ("api", "download"), valid_from: dt.date | None = None,
              valid_until: dt.date | None = None, feedback_every_months: int = 0) -> Grant:
    today = china_today()
    user = session.get(User, who.id)
    assert user is not None
    grant = do_create_grant(session, world.staff, entry=entry, user=user, columns=list(columns),
                            row_filter=list(row_filter), modes=list(modes),
                            valid_from=valid_from or today - dt.timedelta(days=1),
                            valid_until=valid_until or today + dt.timedelta(days=365),
                            feedback_every_months=feedback_every_months)
    session.commit()
    return grant


def download(session: Session, settings: Settings, engine: QueryEngine, who: Principal, name: str,
             fmt: str = "csv", params: Sequence[tuple[str, str]] = ()) -> tuple[bytes, int]:
    """A whole download as the API serves it: checked, logged before the first byte, completed
    with its SHA-256 after the last."""
    scope = access_data(session, settings, who, name, Channel.DOWNLOAD, today=china_today())
    wanted = parse_download(fmt, list(params), scope)
    stream = open_download(engine, scope, wanted, engine.folder / "exports")
    assert who.user is not None
    access = Access(Who(who.user.id, who.user.username), scope.entry_id, scope.version.id, Channel.DOWNLOAD,
                    "download", scope.grant_id, wanted.format.value, wanted.summary(), complete=False)
    log_id = access_log.write_now(session, access)
    session.commit()
    factory = make_session_factory(session.get_bind())
    entry_id, grant_id = scope.entry_id, scope.grant_id
    body = b"".join(logged_stream(stream, factory, log_id, access,
                                  lambda s: still_serving(s, entry_id, grant_id, china_today())))
    return body, log_id
