"""The demo city: accounts, catalog entries in every state and published data, seeded twice."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from kaifang.catalog.models import CatalogEntry
from kaifang.datasets.models import DatasetVersion, VersionStatus
from kaifang.datasets.queries import preview
from kaifang.datasets.storage import storage_for
from kaifang.demo import ACCOUNTS, seed_demo
from kaifang.demo.versions import DATASETS, seed_versions


def test_demo_city_has_published_data_and_seeding_again_changes_nothing(session, settings):
    assert {a.username for a in seed_demo(session, settings)} == {a.username for a in ACCOUNTS}
    session.commit()
    assert sorted(seed_versions(settings)) == sorted(DATASETS)
    session.expire_all()
    versions = {v.entry.name: v for v in session.scalars(select(DatasetVersion))}
    assert {name: v.status for name, v in versions.items()} == {name: VersionStatus.PUBLISHED for name in DATASETS}
    assert versions["enterprise-register"].rows == 5000 and versions["bus-stops"].rows == 400
    # The taxi plates were uploaded in clear (in GBK) and are served as keyed pseudonyms.
    plan = versions["taxi-trips"].applied_plan["columns"]
    assert plan["plate_pseudonym"]["action"] == "pseudonym"
    shown = preview(storage_for(settings), versions["taxi-trips"])
    plates = [row[shown["columns"].index("plate_pseudonym")] for row in shown["rows"]]
    assert plates and all(re.fullmatch(r"[0-9a-f]{16}", p) for p in plates)

    entries = session.scalar(select(func.count()).select_from(CatalogEntry))
    seed_demo(session, settings)
    session.commit()
    assert seed_versions(settings) == []
    assert session.scalar(select(func.count()).select_from(CatalogEntry)) == entries
    assert session.scalar(select(func.count()).select_from(DatasetVersion)) == len(DATASETS)
