"""Writes. Each ``do_*`` records its audit event in the caller's transaction and never commits."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kaifang.audit.actions import record
from kaifang.auth.forms import (
    OrganisationInput,
    RegistrationInput,
    check_membership_role,
    check_password,
    check_platform_role,
    check_required,
)
from kaifang.auth.models import (
    ApiToken,
    IdentityVerification,
    Membership,
    MembershipRole,
    Organisation,
    PasswordReset,
    Role,
    RoleGrant,
    User,
    VerificationStatus,
)
from kaifang.auth.passwords import hash_password, needs_rehash, verify_password
from kaifang.auth.permissions import Permission, Principal
from kaifang.auth.queries import require, require_login, user_by_login
from kaifang.auth.secrets import keyed_digest, new_api_token, new_url_token, token_digest
from kaifang.auth.verification import (
    DocumentKind,
    IdentityClaim,
    check_document,
    document_kind_for,
    load_verifier,
    problem_message,
)
from kaifang.config import Settings
from kaifang.db import utcnow
from kaifang.errors import Conflict, FieldErrors, Forbidden, NotFound, ValidationFailed
from kaifang.i18n import _
from kaifang.identifiers import mask_keep, mask_resident_id
from kaifang.notify.mail import queue_mail

MAX_TOKEN_DAYS = 366


def _mask(kind: DocumentKind, number: str) -> str:
    return mask_resident_id(number) if kind == DocumentKind.RESIDENT_ID else mask_keep(number, 4, 4)


def _taken(session: Session, username: str, email: str) -> FieldErrors:
    errors = FieldErrors()
    if session.scalar(select(func.count()).where(User.username == username)):
        errors.add("username", _("This user name is taken."))
    if session.scalar(select(func.count()).where(func.lower(User.email) == email.lower())):
        errors.add("email", _("An account with this e-mail address exists already."))
    return errors


def do_register(session: Session, settings: Settings, data: RegistrationInput) -> User:
    kind, number = data.validate()
    email = data.email.strip()
    _taken(session, data.username, email).raise_if_any()
    user = User(
        username=data.username, email=email, display_name=data.display_name.strip(),
        account_type=data.account_type, entity_name=data.entity_name.strip(),
        phone=data.phone.strip(), password_hash=hash_password(settings, data.password),
    )
    session.add(user)
    session.flush()
    record(session, user, "account.register", target_type="user", target_id=user.id,
           data={"account_type": user.account_type})
    _submit_claim(session, settings, user, kind, data.real_name.strip(), number)
    return user


def _submit_claim(
    session: Session, settings: Settings, user: User, kind: DocumentKind, real_name: str, number: str
) -> IdentityVerification:
    verifier = load_verifier(settings)
    outcome = verifier.verify(IdentityClaim(user.account_type, kind, real_name, number))
    row = IdentityVerification(
        user_id=user.id, document_kind=kind, real_name=real_name, number_masked=_mask(kind, number),
        number_digest=keyed_digest(settings.secret_key, "identity", number),
        status=outcome.status, reason=outcome.reason, verifier=verifier.name,
    )
    if outcome.status != VerificationStatus.PENDING:
        row.decided_at = utcnow()
    session.add(row)
    session.flush()
    record(session, user, "identity.submit", target_type="identity_verification",
           target_id=row.id, data={"kind": kind, "status": row.status, "verifier": verifier.name})
    return row


def do_submit_verification(
    session: Session, settings: Settings, actor: Principal, real_name: str, number: str
) -> IdentityVerification:
    user = require_login(actor)
    kind = document_kind_for(user.account_type)
    errors = FieldErrors()
    check_required(errors, "real_name", real_name)
    result = check_document(kind, number)
    if not result.ok:
        assert result.problem is not None
        errors.add("id_number", problem_message(kind, result.problem))
    errors.raise_if_any()
    if actor.verification in (VerificationStatus.PENDING, VerificationStatus.VERIFIED):
        raise Conflict(_("Your identity is already verified or waiting for review."))
    return _submit_claim(session, settings, user, kind, real_name.strip(), result.value)


def do_decide_verification(
    session: Session, actor: Principal, row: IdentityVerification, approve: bool, reason: str
) -> IdentityVerification:
    reviewer = require(actor, Permission.REVIEW_IDENTITY)
    if row.status != VerificationStatus.PENDING:
        raise Conflict(_("This request has been decided already."))
    if row.user_id == reviewer.id:
        raise Forbidden(_("You cannot review your own identity."))
    if not approve and not reason.strip():
        raise ValidationFailed.single("reason", _("Give the reason for rejecting."))
    row.status = VerificationStatus.VERIFIED if approve else VerificationStatus.REJECTED
    row.reason = reason.strip()
    row.decided_at = utcnow()
    row.decided_by_id = reviewer.id
    record(session, actor, "identity.verify" if approve else "identity.reject",
           target_type="identity_verification", target_id=row.id,
           data={"user_id": row.user_id, "reason": row.reason})
    return row


def authenticate(session: Session, settings: Settings, login: str, password: str) -> User | None:
    """Checks the password; records the attempt either way (failed logins are auditable)."""
    user = user_by_login(session, login)
    if user is None or not user.is_active or not verify_password(settings, user.password_hash, password):
        record(session, None, "account.login_failed", target_type="user",
               target_id=user.id if user else "", data={"login": login[:64]})
        return None
    if needs_rehash(settings, user.password_hash):
        user.password_hash = hash_password(settings, password)
    user.last_login_at = utcnow()
    record(session, user, "account.login", target_type="user", target_id=user.id)
    return user


def do_logout(session: Session, actor: Principal) -> None:
    if actor.user is not None:
        record(session, actor, "account.logout", target_type="user", target_id=actor.id)


def do_update_profile(
    session: Session, actor: Principal, display_name: str, phone: str, preferred_locale: str
) -> User:
    user = require_login(actor)
    errors = FieldErrors()
    check_required(errors, "display_name", display_name, 120)
    if preferred_locale not in ("", "zh_CN", "en"):
        errors.add("preferred_locale", _("Choose a language."))
    errors.raise_if_any()
    user.display_name, user.phone, user.preferred_locale = display_name.strip(), phone.strip(), preferred_locale
    record(session, actor, "account.update_profile", target_type="user", target_id=user.id)
    return user


def do_change_password(
    session: Session, settings: Settings, actor: Principal, current: str, new: str, confirm: str
) -> User:
    user = require_login(actor)
    errors = FieldErrors()
    if not verify_password(settings, user.password_hash, current):
        errors.add("current_password", _("The current password is wrong."))
    check_password(errors, "new_password", new, confirm)
    errors.raise_if_any()
    user.password_hash = hash_password(settings, new)
    user.auth_version += 1
    record(session, actor, "account.change_password", target_type="user", target_id=user.id)
    return user


def do_request_password_reset(
    session: Session, settings: Settings, email: str, reset_url: str
) -> None:
    """Sends a one-time link if the address is known; says nothing either way to the requester."""
    user = session.scalars(select(User).where(func.lower(User.email) == email.strip().lower())).first()
    if user is None or not user.is_active:
        record(session, None, "account.reset_requested_unknown", data={"email_digest":
               keyed_digest(settings.secret_key, "email", email.strip().lower())})
        return
    token = new_url_token()
    now = utcnow()
    session.add(PasswordReset(
        user_id=user.id, token_hash=token_digest(token), created_at=now,
        expires_at=now + dt.timedelta(seconds=settings.password_reset_max_age_seconds),
    ))
    link = f"{reset_url}?token={token}"
    queue_mail(session, settings, user.email, _("Kaifang: reset your password"),
               _("Someone asked to reset the password of account %(user)s. Open this link within an "
                 "hour to choose a new password:\n\n%(link)s\n\nIf it was not you, ignore this message.",
                 user=user.username, link=link))
    record(session, None, "account.reset_requested", target_type="user", target_id=user.id)


def do_reset_password(session: Session, settings: Settings, token: str, new: str, confirm: str) -> User:
    now = utcnow()
    row = session.scalars(select(PasswordReset).where(PasswordReset.token_hash == token_digest(token))).first()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise ValidationFailed.single("token", _("This reset link is invalid or has expired. Ask for a new one."))
    errors = FieldErrors()
    check_password(errors, "new_password", new, confirm)
    errors.raise_if_any()
    user = session.get(User, row.user_id)
    assert user is not None
    user.password_hash = hash_password(settings, new)
    user.auth_version += 1
    row.used_at = now
    # Any other outstanding links die with this one.
    for other in session.scalars(select(PasswordReset).where(
            PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))):
        other.used_at = now
    record(session, user, "account.reset_password", target_type="user", target_id=user.id)
    return user


def do_create_token(
    session: Session, actor: Principal, name: str, expires_in_days: int | None
) -> tuple[ApiToken, str]:
    user = require_login(actor)
    errors = FieldErrors()
    check_required(errors, "name", name, 100)
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_TOKEN_DAYS:
        errors.add("expires_in_days", _("Between 1 and %(n)s days.", n=MAX_TOKEN_DAYS))
    errors.raise_if_any()
    prefix, token = new_api_token()
    now = utcnow()
    row = ApiToken(
        user_id=user.id, name=name.strip(), prefix=prefix, token_hash=token_digest(token),
        created_at=now,
        expires_at=now + dt.timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(row)
    session.flush()
    record(session, actor, "token.create", target_type="api_token", target_id=row.id,
           data={"prefix": prefix, "expires_at": row.expires_at})
    return row, token


def do_revoke_token(session: Session, actor: Principal, row: ApiToken) -> ApiToken:
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record(session, actor, "token.revoke", target_type="api_token", target_id=row.id,
               data={"prefix": row.prefix})
    return row


TOUCH_EVERY = dt.timedelta(seconds=60)


def touch_token(row: ApiToken, ip: str) -> bool:
    """Notes when and from where a token was last used; at most once a minute per address, so a
    busy API client does not turn every read into a write. True if the row changed."""
    now = utcnow()
    if row.last_used_at and now - row.last_used_at < TOUCH_EVERY and row.last_used_ip == ip[:64]:
        return False
    row.last_used_at, row.last_used_ip = now, ip[:64]
    return True


def _org_parent(session: Session, parent_id: str, errors: FieldErrors) -> Organisation | None:
    if not parent_id:
        return None
    parent = session.get(Organisation, parent_id)
    if parent is None:
        errors.add("parent_id", _("Choose an existing organisation."))
    return parent


def do_create_organisation(session: Session, actor: Principal, data: OrganisationInput) -> Organisation:
    require(actor, Permission.MANAGE_ORGANISATIONS)
    code = data.validate()
    errors = FieldErrors()
    parent = _org_parent(session, data.parent_id, errors)
    if session.scalar(select(func.count()).where(Organisation.slug == data.slug)):
        errors.add("slug", _("This short name is taken."))
    if code and session.scalar(select(func.count()).where(Organisation.uscc == code)):
        errors.add("uscc", _("Another organisation has this credit code."))
    errors.raise_if_any()
    org = Organisation(
        slug=data.slug, name=data.name.strip(), name_en=data.name_en.strip(), kind=data.kind,
        parent=parent, uscc=code, description=data.description.strip(),
        contact_email=data.contact_email.strip(), contact_phone=data.contact_phone.strip(),
    )
    session.add(org)
    session.flush()
    record(session, actor, "organisation.create", target_type="organisation", target_id=org.id,
           data={"slug": org.slug, "kind": org.kind, "parent_id": org.parent_id})
    return org


def do_update_organisation(
    session: Session, actor: Principal, org: Organisation, data: OrganisationInput
) -> Organisation:
    require(actor, Permission.MANAGE_ORGANISATIONS)
    data.slug = org.slug
    code = data.validate()
    errors = FieldErrors()
    parent = _org_parent(session, data.parent_id, errors)
    node = parent
    while node is not None:
        if node.id == org.id:
            errors.add("parent_id", _("An organisation cannot sit under itself."))
            break
        node = node.parent
    if code and session.scalar(select(func.count()).where(Organisation.uscc == code,
                                                          Organisation.id != org.id)):
        errors.add("uscc", _("Another organisation has this credit code."))
    errors.raise_if_any()
    org.name, org.name_en, org.kind, org.parent = data.name.strip(), data.name_en.strip(), data.kind, parent
    org.uscc, org.description = code, data.description.strip()
    org.contact_email, org.contact_phone = data.contact_email.strip(), data.contact_phone.strip()
    record(session, actor, "organisation.update", target_type="organisation", target_id=org.id,
           data={"kind": org.kind, "parent_id": org.parent_id})
    return org


def do_add_member(
    session: Session, actor: Principal, org: Organisation, login: str, role: str
) -> Membership:
    if not actor.can_manage_members(org):
        raise Forbidden(_("You do not have permission to do this."))
    errors = FieldErrors()
    check_membership_role(errors, role)
    user = user_by_login(session, login) if login.strip() else None
    if user is None:
        errors.add("login", _("No account with this user name or e-mail."))
    errors.raise_if_any()
    assert user is not None
    if any(m.organisation_id == org.id for m in user.memberships):
        raise ValidationFailed.single("login", _("This person is a member already."))
    if role == MembershipRole.HEAD and session.scalar(select(func.count()).where(
            Membership.organisation_id == org.id, Membership.role == MembershipRole.HEAD)):
        raise ValidationFailed.single("role", _("This organisation has a head already; remove them first."))
    member = Membership(user=user, organisation_id=org.id, role=role)
    session.add(member)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent request added the head first
        raise Conflict(_("This organisation has a head already; remove them first.")) from exc
    record(session, actor, "membership.add", target_type="organisation", target_id=org.id,
           data={"user_id": user.id, "role": role})
    return member


def do_remove_member(session: Session, actor: Principal, org: Organisation, membership_id: str) -> None:
    if not actor.can_manage_members(org):
        raise Forbidden(_("You do not have permission to do this."))
    member = session.get(Membership, membership_id)
    if member is None or member.organisation_id != org.id:
        raise NotFound(_("No such member."))
    record(session, actor, "membership.remove", target_type="organisation", target_id=org.id,
           data={"user_id": member.user_id, "role": member.role})
    session.delete(member)


def do_grant_role(session: Session, actor: Principal, user: User, role: str) -> RoleGrant:
    require(actor, Permission.MANAGE_ROLES)
    errors = FieldErrors()
    check_platform_role(errors, role)
    errors.raise_if_any()
    if user.has_role(Role(role)):
        raise ValidationFailed.single("role", _("The account has this role already."))
    grant = RoleGrant(user=user, role=role, granted_by_id=actor.id or None)
    session.add(grant)
    session.flush()
    record(session, actor, "role.grant", target_type="user", target_id=user.id, data={"role": role})
    return grant


def do_revoke_role(session: Session, actor: Principal, user: User, role: str) -> None:
    require(actor, Permission.MANAGE_ROLES)
    grant = next((g for g in user.roles if g.role == role), None)
    if grant is None:
        raise NotFound(_("The account does not have this role."))
    if user.id == actor.id and role == Role.PLATFORM_ADMIN:
        raise Forbidden(_("You cannot remove your own administrator role."))
    user.roles.remove(grant)
    record(session, actor, "role.revoke", target_type="user", target_id=user.id, data={"role": role})


def do_set_active(session: Session, actor: Principal, user: User, active: bool) -> User:
    require(actor, Permission.MANAGE_USERS)
    if user.id == actor.id:
        raise Forbidden(_("You cannot deactivate your own account."))
    user.is_active = active
    user.auth_version += 1
    record(session, actor, "account.activate" if active else "account.deactivate",
           target_type="user", target_id=user.id)
    return user


def create_user_direct(
    session: Session, settings: Settings, *, username: str, email: str, display_name: str,
    account_type: str, password: str, entity_name: str = "",
) -> User:
    """For the CLI and the demo seed: an account made by an operator, audited as 'system'."""
    if session.scalar(select(func.count()).where(User.username == username)):
        raise Conflict(f"user {username} exists")
    user = User(username=username, email=email, display_name=display_name,
                account_type=account_type, entity_name=entity_name,
                password_hash=hash_password(settings, password))
    session.add(user)
    session.flush()
    record(session, None, "account.create", target_type="user", target_id=user.id,
           data={"username": username})
    return user


def grant_role_system(session: Session, user: User, role: Role) -> None:
    session.add(RoleGrant(user=user, role=role))
    session.flush()
    record(session, None, "role.grant", target_type="user", target_id=user.id, data={"role": role})
