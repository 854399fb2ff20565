"""Data-use agreements (CQ 24-25, LYG 19): the authority's versioned model template, the exact text
rendered from it for one approved application, the two parties' acceptances and the authority's
review where the jurisdiction has one.

The template is plain text for a sandboxed Jinja2 environment: the authority may edit it, but
it can only read the values given to it. An agreement keeps the version it was made from and the
SHA-256 of its text; an acceptance records the hash of the text the person had in front of them,
so nobody can accept a text other than the stored one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from jinja2 import StrictUndefined, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kaifang.access.grants import entry_columns
from kaifang.applications.model_agreement import MODEL_BODY, MODEL_TITLE
from kaifang.applications.models import Agreement, AgreementAcceptance, AgreementTemplate, Application, Party
from kaifang.applications.workflows import AUTHORITY_REVIEW, SIGNING
from kaifang.audit.actions import record
from kaifang.auth.models import ACCOUNT_TYPE_LABELS, AccountType, Role
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import latest_verification, require_login
from kaifang.cases.actions import do_transition
from kaifang.cases.notifications import notify
from kaifang.cases.queries import assignees, users_with_role
from kaifang.cases.roles import case_roles
from kaifang.cases.thread import add_event
from kaifang.cases.workflow import CaseRole
from kaifang.catalog.vocab import ACCESS_MODE_LABELS, AccessMode
from kaifang.config import Settings
from kaifang.context import client_ip_var
from kaifang.db import utcnow
from kaifang.errors import Conflict, FieldErrors, Forbidden, InvalidTransition, KaifangError
from kaifang.i18n import N_, _, reset_locale, set_locale
from kaifang.policy.profiles import load_profile

MAX_TEMPLATE = 50_000
MAX_NOTE = 2000
CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "CST")
# What a template may use, with what each holds (shown on the template page).
PLACEHOLDERS: dict[str, str] = {
    "title": N_("The agreement's title"),
    "number": N_("The agreement's number"),
    "template_version": N_("The number of this template version"),
    "platform": N_("The platform's name"),
    "jurisdiction": N_("The jurisdiction's name"),
    "legal_sources": N_("The jurisdiction's regulations"),
    "provider": N_("The data provider: provider.name, provider.uscc"),
    "user": N_("The data user: user.name, user.kind, user.id_masked, user.account"),
    "dataset": N_("The dataset: dataset.title, dataset.name"),
    "items": N_("The data items opened: a list of item.title, item.name"),
    "row_scope": N_("The row conditions, one sentence each (empty: all rows)"),
    "purpose": N_("The purpose applied for"),
    "scenario": N_("The application scenario"),
    "security_measures": N_("The security measures promised"),
    "valid_from": N_("The first day of use"),
    "valid_until": N_("The last day of use"),
    "modes": N_("The access modes: a list"),
    "feedback": N_("The usage feedback interval (empty: none agreed)"),
    "authority_review": N_("Whether the authority reviews the agreement (true or false)"),
}
# CQ 25 / LYG 19: an edited template must still state each of these.
REQUIRED_PLACEHOLDERS = frozenset({"provider", "user", "dataset", "items", "row_scope", "purpose", "scenario",
                                   "security_measures", "valid_from", "valid_until", "modes", "feedback"})
# The agreement is written in Chinese whatever the reader's interface language.
OP_PHRASES = {"eq": "等于", "ne": "不等于", "lt": "小于", "lte": "不大于", "gt": "大于", "gte": "不小于",
              "in": "为下列之一", "contains": "包含", "startswith": "以此开头"}
FEEDBACK_PHRASES = {1: "每月", 3: "每季度", 6: "每半年", 12: "每年"}
ACCEPTANCE_EVENT_LABELS = {
    "agreement_accept_applicant": N_("Accepted the data-use agreement as the data user"),
    "agreement_accept_provider": N_("Accepted the data-use agreement for the provider"),
}

_environment = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True,
                                    lstrip_blocks=True, keep_trailing_newline=True)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@contextmanager
def in_chinese() -> Iterator[None]:
    token = set_locale("zh_CN")
    try:
        yield
    finally:
        reset_locale(token)


# ----- the model template -----------------------------------------------------------------------

def latest_template(session: Session) -> AgreementTemplate | None:
    return session.scalars(select(AgreementTemplate).order_by(AgreementTemplate.number.desc())).first()


def template_versions(session: Session) -> list[AgreementTemplate]:
    return list(session.scalars(select(AgreementTemplate).order_by(AgreementTemplate.number.desc())))


def template_version(session: Session, number: int) -> AgreementTemplate | None:
    return session.scalars(select(AgreementTemplate).where(AgreementTemplate.number == number)).first()


def template_for_use(session: Session) -> AgreementTemplate:
    """The newest version; the shipped model is stored as version 1 the first time one is needed."""
    latest = latest_template(session)
    if latest is not None:
        return latest
    model = AgreementTemplate(number=1, title=MODEL_TITLE, body=MODEL_BODY, note="")
    session.add(model)
    session.flush()
    record(session, None, "agreement_template.save", target_type="agreement_template", target_id=model.id,
           data={"number": 1, "sha256": sha256_text(model.body), "model": True})
    return model


def sample_context() -> dict[str, Any]:
    """Values of the right shape for checking an edited template before it is saved."""
    return {
        "title": MODEL_TITLE, "number": "KF-2025-00000000", "template_version": 1, "platform": "开放平台",
        "jurisdiction": "示范市", "legal_sources": "《示范市公共数据开放管理办法》",
        "provider": {"name": "示范市数据局", "uscc": "11500000MB0000000X"},
        "user": {"name": "张三", "kind": "自然人", "id_masked": "110105********002X", "account": "zhangsan"},
        "dataset": {"title": "示例数据集", "name": "sample"},
        "items": [{"name": "a", "title": "甲"}, {"name": "b", "title": "乙"}],
        "row_scope": ["「区县」等于「渝中区」"], "purpose": "研究", "scenario": "分析", "security_measures": "加密存储",
        "valid_from": "2025年1月1日", "valid_until": "2025年12月31日", "modes": ["下载", "接口"], "feedback": "每季度",
        "authority_review": True,
    }


def check_template(body: str) -> list[str]:
    """Why a template cannot be used: it does not parse, uses unknown values, leaves out an item the
    agreement must state, or fails to render."""
    try:
        used = meta.find_undeclared_variables(_environment.parse(body))
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        return [_("The template does not parse (line %(line)s): %(error)s", line=line or "?", error=exc.message or "")]
    problems = []
    unknown = sorted(used - set(PLACEHOLDERS))
    if unknown:
        problems.append(_("Unknown placeholders: %(names)s", names=", ".join(unknown)))
    missing = sorted(REQUIRED_PLACEHOLDERS - used)
    if missing:
        problems.append(_("The agreement must state these items (CQ 25, LYG 19); placeholders missing: %(names)s",
                          names=", ".join(missing)))
    if not problems:
        try:
            _environment.from_string(body).render(sample_context())
        except TemplateError as exc:
            problems.append(_("The template cannot be filled in: %(error)s", error=exc.message or str(exc)))
    return problems


def preview_text(body: str) -> str:
    """The template filled in with sample values, or "" when it cannot be."""
    if check_template(body):
        return ""
    return _environment.from_string(body).render(sample_context())


def do_save_template(session: Session, actor: Principal, title: str, body: str, note: str = "") -> AgreementTemplate:
    """Saves a new version; agreements made earlier keep the version they were made from."""
    require_login(actor)
    if not actor.has_role(Role.AUTHORITY_REVIEWER):
        raise Forbidden(_("Only the authority edits the model agreement."))
    errors = FieldErrors()
    if not title.strip():
        errors.add("title", _("This field is required."))
    elif len(title) > 200:
        errors.add("title", _("At most %(max)s characters.", max=200))
    if not body.strip():
        errors.add("body", _("This field is required."))
    elif len(body) > MAX_TEMPLATE:
        errors.add("body", _("At most %(max)s characters.", max=MAX_TEMPLATE))
    else:
        for problem in check_template(body):
            errors.add("body", problem)
    if len(note) > MAX_NOTE:
        errors.add("note", _("At most %(max)s characters.", max=MAX_NOTE))
    errors.raise_if_any()
    latest = template_for_use(session)
    if latest.title == title.strip() and latest.body == body:
        errors.add("body", _("Nothing has changed since version %(n)s.", n=latest.number))
        errors.raise_if_any()
    number = (session.scalar(select(func.max(AgreementTemplate.number))) or 0) + 1
    saved = AgreementTemplate(number=number, title=title.strip(), body=body, note=note.strip(), created_by_id=actor.id)
    session.add(saved)
    session.flush()
    record(session, actor, "agreement_template.save", target_type="agreement_template", target_id=saved.id,
           data={"number": number, "sha256": sha256_text(body), "note": saved.note})
    return saved


# ----- one agreement ----------------------------------------------------------------------------

def _chinese_date(day: dt.date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def row_scope_sentences(app: Application, titles: dict[str, str]) -> list[str]:
    sentences = []
    for condition in app.row_filter:
        column = titles.get(condition["column"], condition["column"])
        op, value = condition["op"], condition.get("value")
        if op == "isnull":
            sentences.append(f"「{column}」{'为空' if value else '不为空'}")
        elif op == "in":
            sentences.append(f"「{column}」{OP_PHRASES[op]}：" + "、".join(f"「{v}」" for v in value or []))
        else:
            sentences.append(f"「{column}」{OP_PHRASES.get(op, op)}「{value}」")
    return sentences


def _user_facts(session: Session, app: Application) -> dict[str, str]:
    user = app.applicant
    verification = latest_verification(session, user.id)
    name = user.entity_name or (verification.real_name if verification else "") or user.display_name
    return {"name": name, "kind": _(ACCOUNT_TYPE_LABELS.get(AccountType(user.account_type), user.account_type)),
            "id_masked": verification.number_masked if verification else "", "account": user.username}


def agreement_context(session: Session, app: Application, template: AgreementTemplate, number: str) -> dict[str, Any]:
    entry, profile = app.entry, load_profile(app.case.profile_key)
    titles = {name: column.title or name for name, column in entry_columns(session, entry).items()}
    with in_chinese():
        modes = [_(ACCESS_MODE_LABELS[AccessMode(m)]) for m in app.approved_modes]
        user = _user_facts(session, app)
    sources = "、".join(profile.sources) if profile.key != "national" else "国家和地方有关公共数据开放的规定"
    return {
        "title": template.title, "number": number, "template_version": template.number, "platform": "开放平台",
        "jurisdiction": profile.name_zh if profile.key != "national" else "", "legal_sources": sources,
        "provider": {"name": entry.provider.name, "uscc": entry.provider.uscc or ""}, "user": user,
        "dataset": {"title": entry.title, "name": entry.name},
        "items": [{"name": c, "title": titles.get(c, c)} for c in app.approved_columns],
        "row_scope": row_scope_sentences(app, titles),
        "purpose": app.purpose, "scenario": app.scenario, "security_measures": app.security_measures,
        "valid_from": _chinese_date(app.valid_from), "valid_until": _chinese_date(app.valid_until),
        "modes": modes, "feedback": FEEDBACK_PHRASES.get(app.feedback_every_months, ""),
        "authority_review": profile.steps.agreement_authority_review,
    }


def create_agreement(session: Session, actor: Principal, app: Application) -> Agreement:
    """Renders the newest template for an approved application into the text both parties accept."""
    template = template_for_use(session)
    number = f"KF-{utcnow().astimezone(CHINA_TZ).year}-{app.id[:8].upper()}"
    text = _environment.from_string(template.body).render(agreement_context(session, app, template, number))
    agreement = Agreement(application=app, template=template, template_number=template.number,
                          number=number, title=template.title, text=text, sha256=sha256_text(text))
    session.add(agreement)
    session.flush()
    record(session, actor, "agreement.create", target_type="data_agreement", target_id=agreement.id,
           data={"application_id": app.id, "template_number": template.number, "sha256": agreement.sha256})
    return agreement


def party_of(actor: Principal, app: Application) -> Party | None:
    """Which side the actor accepts for: the applicant, or a member of the provider."""
    roles = case_roles(actor, app.case)
    if CaseRole.OPENER in roles:
        return Party.APPLICANT
    if CaseRole.ASSIGNEE in roles:
        return Party.PROVIDER
    return None


def acceptance_refusal(actor: Principal, app: Application) -> KaifangError | None:
    """Why this actor cannot accept the agreement now, or None."""
    agreement = app.agreement
    if agreement is None or app.case.state != SIGNING:
        return InvalidTransition(_("The agreement is not waiting to be accepted."))
    party = party_of(actor, app)
    if party is None:
        return Forbidden(_("Only the data user and a member of the provider accept the agreement."))
    if agreement.accepted_by(party) is not None:
        return Conflict(_("Your side has accepted the agreement already."))
    return None


def do_accept_agreement(session: Session, settings: Settings, actor: Principal, app: Application,
                        shown_sha256: str) -> AgreementAcceptance:
    """One party accepts the exact text it was shown; the second acceptance sends the agreement on."""
    user = require_login(actor)
    refusal = acceptance_refusal(actor, app)
    if refusal is not None:
        raise refusal
    agreement, party = app.agreement, party_of(actor, app)
    assert agreement is not None and party is not None
    if sha256_text(agreement.text) != agreement.sha256 or shown_sha256.strip().lower() != agreement.sha256:
        raise Conflict(_("The agreement text is not the one you were shown. Read it again before accepting."))
    acceptance = AgreementAcceptance(agreement=agreement, party=party.value, user=user,
                                     client_ip=client_ip_var.get()[:64], sha256=agreement.sha256)
    session.add(acceptance)
    session.flush()
    add_event(session, app.case, user, f"agreement_accept_{party.value}", sha256=agreement.sha256)
    record(session, actor, "agreement.accept", target_type="data_agreement", target_id=agreement.id,
           data={"application_id": app.id, "party": party.value, "sha256": agreement.sha256,
                 "client_ip": acceptance.client_ip})
    if agreement.fully_accepted:
        _after_both_accepted(session, settings, actor, app)
    else:
        others = [app.applicant] if party == Party.PROVIDER else assignees(session, app.case)
        notify(session, settings, others, app.case, "agreement_accept", lambda: (
            _("Agreement for “%(title)s”", title=app.entry.title),
            _("%(who)s has accepted the data-use agreement. Please read and accept it.", who=user.display_name)),
            skip=user.id)
    return acceptance


def _after_both_accepted(session: Session, settings: Settings, actor: Principal, app: Application) -> None:
    if load_profile(app.case.profile_key).steps.agreement_authority_review:
        do_transition(session, settings, actor, app.case, "submit_review")
        notify(session, settings, users_with_role(session, Role.AUTHORITY_REVIEWER), app.case, "agreement_review",
               lambda: (_("Agreement for “%(title)s”", title=app.entry.title),
                        _("A data-use agreement accepted by both parties is waiting for your review.")))
    else:
        do_transition(session, settings, actor, app.case, "grant")


def do_review_agreement(session: Session, settings: Settings, actor: Principal, app: Application, approve: bool,
                        reason: str = "") -> Agreement:
    """The authority's review (CQ 24): approved, the grant takes effect; refused, nothing is opened."""
    agreement = app.agreement
    if agreement is None or app.case.state != AUTHORITY_REVIEW:
        raise InvalidTransition(_("No agreement of this application is waiting for review."))
    do_transition(session, settings, actor, app.case, "approve_agreement" if approve else "reject_agreement", reason)
    agreement.review_reason = reason.strip()
    session.flush()
    return agreement


__all__ = [
    "ACCEPTANCE_EVENT_LABELS",
    "PLACEHOLDERS",
    "REQUIRED_PLACEHOLDERS",
    "acceptance_refusal",
    "agreement_context",
    "check_template",
    "create_agreement",
    "do_accept_agreement",
    "do_review_agreement",
    "do_save_template",
    "latest_template",
    "party_of",
    "preview_text",
    "sha256_text",
    "template_for_use",
    "template_version",
    "template_versions",
]
