"""Registration, login and logout, password change and reset, profile, identity, API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kaifang.auth.actions import (
    authenticate,
    do_change_password,
    do_create_token,
    do_logout,
    do_register,
    do_request_password_reset,
    do_reset_password,
    do_revoke_token,
    do_submit_verification,
    do_update_profile,
)
from kaifang.auth.forms import RegistrationInput
from kaifang.auth.models import ACCOUNT_TYPE_LABELS, AccountType
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import access_own_token, latest_verification, list_tokens, require_login
from kaifang.config import Settings
from kaifang.errors import ValidationFailed
from kaifang.http.access import LOGGED_IN, PUBLIC, SESSION_AUTH_VERSION, SESSION_USER
from kaifang.http.deps import form_data, get_db, get_settings
from kaifang.http.ratelimit import login_limiter
from kaifang.i18n import _
from kaifang.web.routes.pages import safe_next
from kaifang.web.templating import flash, render

router = APIRouter()


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/", actor: Principal = Depends(PUBLIC)) -> Response:
    if actor.is_authenticated:
        return _redirect(safe_next(next))
    return render(request, "accounts/login.html", {"next": safe_next(next)})


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request, form: dict[str, str] = Depends(form_data), actor: Principal = Depends(PUBLIC),
    db: Session = Depends(get_db), settings: Settings = Depends(get_settings),
) -> Response:
    login, target = form.get("login", ""), safe_next(form.get("next"))
    ctx = {"next": target, "form": {"login": login}}
    client = request.client.host if request.client else ""
    if not login_limiter(request.app).hit(client, login.lower()):
        return render(request, "accounts/login.html",
                      {**ctx, "error": _("Too many attempts. Wait a few minutes and try again.")}, 429)
    user = authenticate(db, settings, login, form.get("password", ""))
    db.commit()
    if user is None:
        return render(request, "accounts/login.html",
                      {**ctx, "error": _("The user name or password is wrong.")}, 400)
    request.session.clear()
    request.session[SESSION_USER], request.session[SESSION_AUTH_VERSION] = user.id, user.auth_version
    return _redirect(target)


@router.post("/logout")
def logout(request: Request, actor: Principal = Depends(PUBLIC), db: Session = Depends(get_db)) -> Response:
    do_logout(db, actor)
    db.commit()
    request.session.clear()
    flash(request, _("You have logged out."))
    return _redirect("/")


def _register_context(form: dict[str, str] | None = None,
                      errors: dict[str, list[str]] | None = None) -> dict[str, object]:
    return {"form": form or {"account_type": AccountType.NATURAL_PERSON},
            "errors": errors or {}, "account_types": ACCOUNT_TYPE_LABELS}


@router.get("/register", response_class=HTMLResponse)
def register_form(request: Request, actor: Principal = Depends(PUBLIC)) -> Response:
    return render(request, "accounts/register.html", _register_context())


@router.post("/register", response_class=HTMLResponse)
def register_submit(
    request: Request, form: dict[str, str] = Depends(form_data), actor: Principal = Depends(PUBLIC),
    db: Session = Depends(get_db), settings: Settings = Depends(get_settings),
) -> Response:
    data = RegistrationInput(
        account_type=form.get("account_type", ""), username=form.get("username", ""),
        email=form.get("email", ""), display_name=form.get("display_name", ""),
        password=form.get("password", ""), password_confirm=form.get("password_confirm", ""),
        real_name=form.get("real_name", ""), id_number=form.get("id_number", ""),
        entity_name=form.get("entity_name", ""), phone=form.get("phone", ""),
    )
    try:
        user = do_register(db, settings, data)
        db.commit()
    except ValidationFailed as exc:
        db.rollback()
        safe_form = {k: v for k, v in form.items() if "password" not in k}
        return render(request, "accounts/register.html", _register_context(safe_form, exc.fields), 422)
    request.session.clear()
    request.session[SESSION_USER], request.session[SESSION_AUTH_VERSION] = user.id, user.auth_version
    flash(request, _("Welcome! Your identity is waiting for review by the authority."))
    return _redirect("/account")


@router.get("/account", response_class=HTMLResponse)
def profile(request: Request, actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db)) -> Response:
    user = require_login(actor)
    return render(request, "accounts/profile.html", {
        "user": user, "verification": latest_verification(db, user.id),
        "tokens": list_tokens(db, actor), "account_types": ACCOUNT_TYPE_LABELS,
        "new_token": request.session.pop("new_token", None),
    })


def _profile_with_errors(request: Request, db: Session, actor: Principal, exc: ValidationFailed,
                         form: dict[str, str]) -> Response:
    db.rollback()
    user = require_login(actor)
    return render(request, "accounts/profile.html", {
        "user": user, "verification": latest_verification(db, user.id),
        "tokens": list_tokens(db, actor), "account_types": ACCOUNT_TYPE_LABELS,
        "errors": exc.fields, "form": {k: v for k, v in form.items() if "password" not in k},
    }, 422)


@router.post("/account/profile")
def update_profile(request: Request, form: dict[str, str] = Depends(form_data),
                   actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db)) -> Response:
    try:
        do_update_profile(db, actor, form.get("display_name", ""), form.get("phone", ""),
                          form.get("preferred_locale", ""))
        db.commit()
    except ValidationFailed as exc:
        return _profile_with_errors(request, db, actor, exc, form)
    flash(request, _("Your profile is saved."))
    return _redirect("/account")


@router.post("/account/password")
def change_password(request: Request, form: dict[str, str] = Depends(form_data),
                    actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
                    settings: Settings = Depends(get_settings)) -> Response:
    try:
        user = do_change_password(db, settings, actor, form.get("current_password", ""),
                                  form.get("new_password", ""), form.get("new_password_confirm", ""))
        db.commit()
    except ValidationFailed as exc:
        return _profile_with_errors(request, db, actor, exc, form)
    request.session[SESSION_AUTH_VERSION] = user.auth_version  # this session stays, others end
    flash(request, _("Your password is changed. Other sessions have been logged out."))
    return _redirect("/account")


@router.post("/account/verification")
def submit_verification(request: Request, form: dict[str, str] = Depends(form_data),
                        actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
                        settings: Settings = Depends(get_settings)) -> Response:
    try:
        do_submit_verification(db, settings, actor, form.get("real_name", ""), form.get("id_number", ""))
        db.commit()
    except ValidationFailed as exc:
        return _profile_with_errors(request, db, actor, exc, form)
    flash(request, _("Your identity documents are submitted for review."))
    return _redirect("/account")


@router.post("/account/tokens")
def create_token(request: Request, form: dict[str, str] = Depends(form_data),
                 actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db)) -> Response:
    raw_days = form.get("expires_in_days", "")
    try:
        days = int(raw_days) if raw_days else None
    except ValueError:
        return _profile_with_errors(request, db, actor, ValidationFailed.single(
            "expires_in_days", _("Enter a whole number of days.")), form)
    try:
        _row, token = do_create_token(db, actor, form.get("name", ""), days)
        db.commit()
    except ValidationFailed as exc:
        return _profile_with_errors(request, db, actor, exc, form)
    request.session["new_token"] = token  # shown once on the next page, then gone
    return _redirect("/account#tokens")


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(token_id: str, request: Request, actor: Principal = Depends(LOGGED_IN),
                 db: Session = Depends(get_db)) -> Response:
    do_revoke_token(db, actor, access_own_token(db, actor, token_id))
    db.commit()
    flash(request, _("The token is revoked."))
    return _redirect("/account#tokens")


@router.get("/password/forgot", response_class=HTMLResponse)
def forgot_form(request: Request, actor: Principal = Depends(PUBLIC)) -> Response:
    return render(request, "accounts/forgot.html")


@router.post("/password/forgot", response_class=HTMLResponse)
def forgot_submit(request: Request, form: dict[str, str] = Depends(form_data),
                  actor: Principal = Depends(PUBLIC), db: Session = Depends(get_db),
                  settings: Settings = Depends(get_settings)) -> Response:
    client = request.client.host if request.client else ""
    email = form.get("email", "")
    if login_limiter(request.app).hit(client, "reset:" + email.lower()):
        do_request_password_reset(db, settings, email, f"{settings.base_url.rstrip('/')}/password/reset")
        db.commit()
    # The same answer whether or not the address is known.
    return render(request, "accounts/forgot.html", {"sent": True})


@router.get("/password/reset", response_class=HTMLResponse)
def reset_form(request: Request, token: str = "", actor: Principal = Depends(PUBLIC)) -> Response:
    return render(request, "accounts/reset.html", {"token": token})


@router.post("/password/reset", response_class=HTMLResponse)
def reset_submit(request: Request, form: dict[str, str] = Depends(form_data),
                 actor: Principal = Depends(PUBLIC), db: Session = Depends(get_db),
                 settings: Settings = Depends(get_settings)) -> Response:
    token = form.get("token", "")
    try:
        do_reset_password(db, settings, token, form.get("new_password", ""),
                          form.get("new_password_confirm", ""))
        db.commit()
    except ValidationFailed as exc:
        db.rollback()
        return render(request, "accounts/reset.html", {"token": token, "errors": exc.fields}, 422)
    request.session.clear()
    flash(request, _("Your password is reset. Log in with the new password."))
    return _redirect("/login")
