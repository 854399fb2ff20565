"""Writes to catalog entries. Review steps live in kaifang.catalog.review (on the case engine)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kaifang.audit.actions import record
from kaifang.auth.models import Organisation
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import require_login
from kaifang.catalog.forms import EntryInput
from kaifang.catalog.models import CatalogEntry, DataItem, EntryRevision
from kaifang.catalog.queries import snapshot
from kaifang.catalog.search import index_entry
from kaifang.catalog.taxonomy import list_domains
from kaifang.catalog.visibility import can_edit, organisations_in_charge
from kaifang.catalog.vocab import EntryStatus
from kaifang.db import utcnow
from kaifang.errors import Conflict, Forbidden, ValidationFailed
from kaifang.i18n import _

# A withdrawn entry is edited (re-desensitised, re-described) before it is submitted again (LYG 26).
EDITABLE = (EntryStatus.DRAFT, EntryStatus.RETURNED, EntryStatus.WITHDRAWN)


def apply_fields(entry: CatalogEntry, data: EntryInput, dates: tuple[object, object]) -> None:
    """Copies validated input onto an entry (no checks, no event)."""
    entry.title, entry.title_en, entry.summary = data.title.strip(), data.title_en.strip(), data.summary.strip()
    entry.domain_code, entry.open_type = data.domain_code, data.open_type
    entry.open_conditions, entry.legal_basis = data.open_conditions.strip(), data.legal_basis.strip()
    entry.security_grade, entry.access_modes = data.security_grade, sorted(set(data.access_modes))
    entry.share_type, entry.share_conditions = data.share_type, data.share_conditions.strip()
    entry.licence, entry.update_frequency = data.licence.strip(), data.update_frequency
    entry.formats = list(dict.fromkeys(data.formats))
    entry.keywords = list(dict.fromkeys(k.strip() for k in data.keywords if k.strip()))
    entry.temporal_start, entry.temporal_end = dates  # type: ignore[assignment]
    entry.spatial_coverage, entry.annual_focus = data.spatial_coverage.strip(), data.annual_focus
    # Rows are reused by name: replacing them all would insert a name before its old row is
    # deleted, which the unique (entry, name) constraint refuses.
    existing = {row.name: row for row in entry.items}
    rows = []
    for position, item in enumerate(data.items):
        row = existing.get(item.name.strip()) or DataItem(name=item.name.strip())
        row.position, row.title, row.type = position, item.title.strip(), item.type
        row.description, row.sensitivity = item.description.strip(), item.sensitivity
        rows.append(row)
    entry.items = rows
    # The entry row changes whenever its items do: readers key what they keep of the items on it.
    entry.updated_at = utcnow()


def do_create_entry(session: Session, actor: Principal, provider: Organisation, data: EntryInput) -> CatalogEntry:
    """A draft entry of ``provider``, made by its staff or by a body above it (CQ 14)."""
    require_login(actor)
    in_charge = organisations_in_charge(session, actor)
    if provider.id not in in_charge:
        raise Forbidden(_("You do not have permission to do this."))
    dates = data.validate({d.code for d in list_domains(session)})
    if session.scalar(select(func.count()).where(CatalogEntry.name == data.name)):
        raise ValidationFailed.single("name", _("This short name is taken."))
    entry = CatalogEntry(name=data.name, provider_id=provider.id, status=EntryStatus.DRAFT,
                         submitted_by_org_id=acting_org(actor, provider))
    apply_fields(entry, data, dates)
    session.add(entry)
    session.flush()
    # Drafts are indexed too: searches filter on the entry's own columns, so only its provider's
    # side and the overseers find them.
    index_entry(session, entry)
    record(session, actor, "catalog.create", target_type="catalog_entry", target_id=entry.id,
           data={"name": entry.name, "open_type": entry.open_type, "provider_id": provider.id})
    return entry


def acting_org(actor: Principal, provider: Organisation) -> str | None:
    """The body above ``provider`` through which the actor acts for it (CQ 14: a department for its
    sub-units, a district for its bodies); None when the actor belongs to the provider itself."""
    own_orgs = {m.organisation_id for m in actor.user.memberships} if actor.user else set()
    if provider.id in own_orgs:
        return None
    node = provider.parent
    while node is not None:
        if node.id in own_orgs:
            return node.id
        node = node.parent
    return None


def do_update_entry(session: Session, actor: Principal, entry: CatalogEntry, data: EntryInput) -> CatalogEntry:
    if not can_edit(session, actor, entry):
        raise Forbidden(_("You do not have permission to do this."))
    if entry.status not in EDITABLE:
        raise Conflict(_("Only drafts, returned and withdrawn entries can be edited; "
                         "withdraw a published entry first."))
    changed = apply_input(session, entry, data)
    index_entry(session, entry)
    record(session, actor, "catalog.update", target_type="catalog_entry", target_id=entry.id,
           data={"changed": changed})
    return entry


def apply_input(session: Session, entry: CatalogEntry, data: EntryInput) -> list[str]:
    """Validates ``data`` and writes it over the entry's metadata (its name stays); returns the
    names of the fields that changed. Callers check permission and record the event."""
    data.name = entry.name
    dates = data.validate({d.code for d in list_domains(session)})
    before = snapshot(entry)
    apply_fields(entry, data, dates)
    session.flush()
    after = snapshot(entry)
    return sorted(k for k in after if after[k] != before.get(k))


def save_revision(session: Session, actor: Principal | None, entry: CatalogEntry) -> EntryRevision:
    """Keeps the entry's metadata as it is now (at each submission and each applied change)."""
    number = (session.scalar(select(func.max(EntryRevision.number)).where(
        EntryRevision.entry_id == entry.id)) or 0) + 1
    revision = EntryRevision(entry_id=entry.id, number=number, snapshot=snapshot(entry),
                             created_by_id=(actor.id or None) if actor else None)
    session.add(revision)
    session.flush()
    return revision
