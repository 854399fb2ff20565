"""Making catalog entries for search, API and feed tests: through the real actions, then published
the way the review workflow does it (status, publication time, index)."""

from __future__ import annotations

import datetime as dt

from kaifang.catalog.actions import do_create_entry
from kaifang.catalog.search import index_entry
from kaifang.catalog.vocab import EntryStatus, OpenType
from kaifang.db import utcnow
from tests.unit.catalog.test_entries import entry_input

RESTRICTED = {"legal_basis": "《公共数据开放管理办法》第十二条", "open_conditions": "实名申请并签订数据利用协议"}


def publish(session, entry, when: dt.datetime | None = None) -> None:
    entry.status = EntryStatus.PUBLISHED
    entry.published_at = entry.first_published_at = when or utcnow()
    index_entry(session, entry)


def make_entry(session, actor, provider, name, *, published=True, when=None, **fields):
    if fields.get("open_type", OpenType.UNCONDITIONAL) != OpenType.UNCONDITIONAL:
        fields = {**RESTRICTED, **fields}
    entry = do_create_entry(session, actor, provider, entry_input(name, **fields))
    if published:
        publish(session, entry, when)
    else:
        index_entry(session, entry)
    return entry
