"""Reads of the catalog, always through the visibility clause."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from kaifang.auth.permissions import Principal
from kaifang.cases.models import Case
from kaifang.catalog.models import CatalogEntry, Dispute, EntryRevision
from kaifang.catalog.visibility import can_edit, visible_clause
from kaifang.errors import NotFound
from kaifang.i18n import _


def visible_entries(session: Session, actor: Principal) -> Select[CatalogEntry]:
    return select(CatalogEntry).where(visible_clause(session, actor))


def access_entry(session: Session, actor: Principal, name: str) -> CatalogEntry:
    """The entry if this actor may see it; otherwise NotFound, exactly as if it did not exist."""
    entry = session.scalars(visible_entries(session, actor).where(CatalogEntry.name == name)).first()
    if entry is None:
        raise NotFound(_("No such dataset."))
    return entry


def access_entry_for_edit(session: Session, actor: Principal, name: str) -> CatalogEntry:
    entry = access_entry(session, actor, name)
    if not can_edit(session, actor, entry):
        raise NotFound(_("No such dataset."))
    return entry


def entries_of_provider(session: Session, actor: Principal, provider_id: str) -> list[CatalogEntry]:
    stmt = visible_entries(session, actor).where(CatalogEntry.provider_id == provider_id)
    return list(session.scalars(stmt.order_by(CatalogEntry.title)))


def count_visible(session: Session, actor: Principal) -> int:
    stmt = select(func.count()).select_from(CatalogEntry).where(visible_clause(session, actor))
    return session.scalar(stmt) or 0


def snapshot(entry: CatalogEntry) -> dict[str, Any]:
    """The reviewable metadata of an entry, as kept in revisions and shown in diffs."""
    return {
        "name": entry.name, "title": entry.title, "title_en": entry.title_en, "summary": entry.summary,
        "domain_code": entry.domain_code, "provider_id": entry.provider_id, "open_type": entry.open_type,
        "open_conditions": entry.open_conditions, "legal_basis": entry.legal_basis,
        "security_grade": entry.security_grade, "access_modes": list(entry.access_modes),
        "share_type": entry.share_type, "share_conditions": entry.share_conditions,
        "licence": entry.licence, "update_frequency": entry.update_frequency,
        "formats": list(entry.formats), "keywords": list(entry.keywords),
        "temporal_start": entry.temporal_start.isoformat() if entry.temporal_start else None,
        "temporal_end": entry.temporal_end.isoformat() if entry.temporal_end else None,
        "spatial_coverage": entry.spatial_coverage, "annual_focus": entry.annual_focus,
        "items": [{"name": i.name, "title": i.title, "type": i.type, "description": i.description,
                   "sensitivity": i.sensitivity} for i in entry.items],
    }


def entry_cases(session: Session, entry: CatalogEntry) -> list[Case]:
    """The entry's reviews, change requests and disputes, oldest first. Callers show them only to
    those who may follow the entry's review (its provider's side and the overseers)."""
    about_entry = and_(Case.subject_type == "catalog_entry", Case.subject_id == entry.id)
    disputes = select(Dispute.case_id).where(Dispute.entry_id == entry.id)
    return list(session.scalars(select(Case).where(or_(about_entry, Case.id.in_(disputes)))
                                .order_by(Case.opened_at)))


def revisions_of(session: Session, entry: CatalogEntry) -> list[EntryRevision]:
    return list(session.scalars(select(EntryRevision).where(EntryRevision.entry_id == entry.id)
                                .order_by(EntryRevision.number.desc())))
