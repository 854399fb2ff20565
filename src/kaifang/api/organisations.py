from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from kaifang.api.schemas import OrganisationOut
from kaifang.auth.models import Organisation
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import access_organisation, list_organisations
from kaifang.http.access import PUBLIC
from kaifang.http.deps import get_db

router = APIRouter(tags=["organisations"])


def organisation_out(org: Organisation) -> OrganisationOut:
    return OrganisationOut(id=org.id, slug=org.slug, name=org.name, name_en=org.name_en,
                           kind=org.kind, parent_slug=org.parent.slug if org.parent else None,
                           uscc=org.uscc, description=org.description)


@router.get("/organisations", response_model=list[OrganisationOut], summary="All data providers")
def organisations(actor: Principal = Depends(PUBLIC), db: Session = Depends(get_db)) -> list[OrganisationOut]:
    return [organisation_out(o) for o in list_organisations(db)]


@router.get("/organisations/{slug}", response_model=OrganisationOut, summary="One data provider")
def organisation(slug: str, actor: Principal = Depends(PUBLIC),
                 db: Session = Depends(get_db)) -> OrganisationOut:
    return organisation_out(access_organisation(db, actor, slug))
