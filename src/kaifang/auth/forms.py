"""Validation of account and organisation input; each problem names its field, in the user's language."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kaifang.auth.models import AccountType, MembershipRole, OrgKind, Role
from kaifang.auth.passwords import MIN_PASSWORD_LENGTH
from kaifang.auth.verification import DocumentKind, check_document, document_kind_for, problem_message
from kaifang.errors import FieldErrors
from kaifang.i18n import _
from kaifang.identifiers import check_uscc

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,79}$")
PHONE = re.compile(r"^\+?[0-9 ()-]{5,20}$")


def check_password(errors: FieldErrors, field: str, password: str, confirm: str | None = None) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        errors.add(field, _("The password must have at least %(n)s characters.", n=MIN_PASSWORD_LENGTH))
    elif password.isdigit() or password.isalpha():
        errors.add(field, _("The password must mix letters with digits or symbols."))
    if confirm is not None and password != confirm:
        errors.add(f"{field}_confirm", _("The two passwords do not match."))


def check_required(errors: FieldErrors, field: str, value: str, max_len: int = 200) -> None:
    if not value.strip():
        errors.add(field, _("This field is required."))
    elif len(value) > max_len:
        errors.add(field, _("At most %(n)s characters.", n=max_len))


@dataclass
class RegistrationInput:
    account_type: str
    username: str
    email: str
    display_name: str
    password: str
    password_confirm: str
    real_name: str
    id_number: str
    entity_name: str = ""
    phone: str = ""

    def validate(self) -> tuple[DocumentKind, str]:
        """Raises ValidationFailed; returns the document kind and the normalised number."""
        errors = FieldErrors()
        if self.account_type not in set(AccountType):
            errors.add("account_type", _("Choose an account type."))
        if not USERNAME.match(self.username):
            errors.add("username", _(
                "3–64 letters, digits, dots, dashes or underscores, starting with a letter or digit."))
        if not EMAIL.match(self.email.strip()):
            errors.add("email", _("Enter a valid e-mail address."))
        check_required(errors, "display_name", self.display_name, 120)
        check_password(errors, "password", self.password, self.password_confirm)
        check_required(errors, "real_name", self.real_name)
        if self.account_type != AccountType.NATURAL_PERSON:
            check_required(errors, "entity_name", self.entity_name)
        if self.phone and not PHONE.match(self.phone):
            errors.add("phone", _("Enter a valid phone number."))
        kind = document_kind_for(self.account_type)
        result = check_document(kind, self.id_number)
        if not result.ok:
            assert result.problem is not None
            errors.add("id_number", problem_message(kind, result.problem))
        errors.raise_if_any()
        return kind, result.value


@dataclass
class OrganisationInput:
    slug: str
    name: str
    kind: str
    name_en: str = ""
    parent_id: str = ""
    uscc: str = ""
    description: str = ""
    contact_email: str = ""
    contact_phone: str = ""

    def validate(self) -> str | None:
        """Raises ValidationFailed; returns the normalised credit code (or None)."""
        errors = FieldErrors()
        if not SLUG.match(self.slug):
            errors.add("slug", _("2–80 lower-case letters, digits or dashes."))
        check_required(errors, "name", self.name)
        if self.kind not in set(OrgKind):
            errors.add("kind", _("Choose the kind of organisation."))
        if self.contact_email and not EMAIL.match(self.contact_email):
            errors.add("contact_email", _("Enter a valid e-mail address."))
        if self.contact_phone and not PHONE.match(self.contact_phone):
            errors.add("contact_phone", _("Enter a valid phone number."))
        code: str | None = None
        if self.uscc.strip():
            result = check_uscc(self.uscc)
            if result.ok:
                code = result.value
            else:
                assert result.problem is not None
                errors.add("uscc", problem_message(DocumentKind.USCC, result.problem))
        errors.raise_if_any()
        return code


def check_membership_role(errors: FieldErrors, role: str) -> None:
    if role not in set(MembershipRole):
        errors.add("role", _("Choose a role."))


def check_platform_role(errors: FieldErrors, role: str) -> None:
    if role not in set(Role):
        errors.add("role", _("Choose a role."))
