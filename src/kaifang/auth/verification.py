"""Identity verification (CQ 23) behind a pluggable verifier.

The default verifier checks the document number's check digit and birth date, then leaves the
claim pending until an authority reviewer confirms it. A city with a unified identity platform
plugs in its own verifier (see docs/identity.md) through ``KAIFANG_IDENTITY_VERIFIER``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from kaifang.auth.models import AccountType, VerificationStatus
from kaifang.config import Settings
from kaifang.i18n import _
from kaifang.identifiers import Check, Problem, check_resident_id, check_uscc


class DocumentKind(StrEnum):
    RESIDENT_ID = "resident_id"
    USCC = "uscc"


def document_kind_for(account_type: str) -> DocumentKind:
    return DocumentKind.RESIDENT_ID if account_type == AccountType.NATURAL_PERSON else DocumentKind.USCC


@dataclass(frozen=True)
class IdentityClaim:
    account_type: str
    document_kind: DocumentKind
    real_name: str
    number: str


@dataclass(frozen=True)
class VerifierOutcome:
    status: VerificationStatus
    reason: str = ""


class IdentityVerifier(Protocol):
    name: str

    def verify(self, claim: IdentityClaim) -> VerifierOutcome: ...


def check_document(kind: DocumentKind, number: str) -> Check:
    return check_resident_id(number) if kind == DocumentKind.RESIDENT_ID else check_uscc(number)


def problem_message(kind: DocumentKind, problem: Problem) -> str:
    if kind == DocumentKind.RESIDENT_ID:
        messages = {
            Problem.EMPTY: _("Enter your resident ID number."),
            Problem.FORMAT: _("A resident ID number has 18 characters: 17 digits and a final digit or X."),
            Problem.REGION: _("The first two digits of the resident ID do not name a province."),
            Problem.BIRTH_DATE: _("The birth date inside the resident ID number is not a real date."),
            Problem.CHECK: _("The check digit of the resident ID number is wrong; please re-check the number."),
        }
    else:
        messages = {
            Problem.EMPTY: _("Enter the unified social credit code."),
            Problem.FORMAT: _(
                "A unified social credit code has 18 characters of digits and capital letters (no I, O, S, V, Z)."),
            Problem.AUTHORITY: _("The first character of the credit code does not name a registering authority."),
            Problem.CHECK: _(
                "The check character of the unified social credit code is wrong; please re-check the code."),
        }
    return messages.get(problem, _("The number is not valid."))


class CheckDigitVerifier:
    """Check digits pass → pending for a human reviewer; nothing is verified automatically."""

    name = "check_digit"

    def verify(self, claim: IdentityClaim) -> VerifierOutcome:
        result = check_document(claim.document_kind, claim.number)
        if not result.ok:
            assert result.problem is not None
            return VerifierOutcome(VerificationStatus.REJECTED,
                                   problem_message(claim.document_kind, result.problem))
        return VerifierOutcome(VerificationStatus.PENDING)


def load_verifier(settings: Settings) -> IdentityVerifier:
    module_name, _sep, attr = settings.identity_verifier.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    verifier: IdentityVerifier = factory(settings) if _takes_settings(factory) else factory()
    return verifier


def _takes_settings(factory: object) -> bool:
    init = getattr(factory, "__init__", None)
    code = getattr(init, "__code__", None)
    return bool(code and code.co_argcount > 1)
