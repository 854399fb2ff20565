from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from kaifang.api.schemas import MembershipOut, MeOut, TokenCreated, TokenIn, TokenOut
from kaifang.auth.actions import do_create_token, do_revoke_token
from kaifang.auth.models import ApiToken
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import access_own_token, list_tokens, require_login
from kaifang.http.access import LOGGED_IN
from kaifang.http.deps import get_db

router = APIRouter(tags=["account"])


def _token_out(row: ApiToken) -> TokenOut:
    return TokenOut(id=row.id, name=row.name, prefix=row.prefix, created_at=row.created_at,
                    expires_at=row.expires_at, revoked_at=row.revoked_at,
                    last_used_at=row.last_used_at)


@router.get("/me", response_model=MeOut, summary="The calling account")
def me(actor: Principal = Depends(LOGGED_IN)) -> MeOut:
    user = require_login(actor)
    return MeOut(
        id=user.id, username=user.username, display_name=user.display_name,
        account_type=user.account_type, roles=sorted(g.role for g in user.roles),
        memberships=[MembershipOut(organisation=m.organisation.slug, role=m.role)
                     for m in user.memberships],
        identity_status=actor.verification,
    )


@router.get("/tokens", response_model=list[TokenOut], summary="My API tokens (prefix only)")
def tokens(actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db)) -> list[TokenOut]:
    return [_token_out(row) for row in list_tokens(db, actor)]


@router.post("/tokens", response_model=TokenCreated, status_code=201, summary="Create an API token")
def create_token(body: TokenIn, actor: Principal = Depends(LOGGED_IN),
                 db: Session = Depends(get_db)) -> TokenCreated:
    row, token = do_create_token(db, actor, body.name, body.expires_in_days)
    db.commit()
    return TokenCreated(**_token_out(row).model_dump(), token=token)


@router.delete("/tokens/{token_id}", response_model=TokenOut, summary="Revoke an API token")
def revoke_token(token_id: str, actor: Principal = Depends(LOGGED_IN),
                 db: Session = Depends(get_db)) -> TokenOut:
    row = do_revoke_token(db, actor, access_own_token(db, actor, token_id))
    db.commit()
    return _token_out(row)
