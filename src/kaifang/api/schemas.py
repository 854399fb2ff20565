"""Pydantic shapes of the JSON API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class OrganisationOut(BaseModel):
    id: str
    slug: str
    name: str
    name_en: str
    kind: str
    parent_slug: str | None
    uscc: str | None
    description: str


class MembershipOut(BaseModel):
    organisation: str
    role: str


class MeOut(BaseModel):
    id: str
    username: str
    display_name: str
    account_type: str
    roles: list[str]
    memberships: list[MembershipOut]
    identity_status: str | None


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, examples=["harvester"])
    expires_in_days: int | None = Field(default=None, ge=1, le=366, examples=[90])


class TokenOut(BaseModel):
    id: str
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="Shown once; only its hash is stored.")
