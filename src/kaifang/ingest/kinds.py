"""The kinds of sensitive values the detector knows, with their header hints and the grade and
open type each suggests (personal information is non-open unless desensitised, REQUIREMENTS §2)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from kaifang.i18n import N_


class Kind(StrEnum):
    RESIDENT_ID = "resident_id"
    USCC = "uscc"
    ORG_CODE = "org_code"
    MOBILE = "mobile"
    LANDLINE = "landline"
    BANK_CARD = "bank_card"
    PLATE = "plate"
    PASSPORT = "passport"
    HK_MACAU_PERMIT = "hk_macau_permit"
    EMAIL = "email"
    IPV4 = "ipv4"
    PERSON_NAME = "person_name"
    ADDRESS = "address"


class Grade(StrEnum):
    GENERAL = "general"
    PERSONAL = "personal"
    SENSITIVE_PERSONAL = "sensitive_personal"


class OpenType(StrEnum):
    UNCONDITIONAL = "unconditional"
    CONDITIONAL = "conditional"
    NON_OPEN = "non_open"


GRADE_LABELS = {
    Grade.GENERAL: N_("general data"),
    Grade.PERSONAL: N_("personal information"),
    Grade.SENSITIVE_PERSONAL: N_("sensitive personal information"),
}
OPEN_TYPE_LABELS = {
    OpenType.UNCONDITIONAL: N_("unconditional opening"),
    OpenType.CONDITIONAL: N_("conditional opening"),
    OpenType.NON_OPEN: N_("non-open unless desensitised"),
}
GRADE_ORDER = (Grade.GENERAL, Grade.PERSONAL, Grade.SENSITIVE_PERSONAL)
OPEN_ORDER = (OpenType.UNCONDITIONAL, OpenType.CONDITIONAL, OpenType.NON_OPEN)


@dataclass(frozen=True)
class KindSpec:
    kind: Kind
    label: str
    hints: tuple[str, ...]
    """Header fragments: Chinese ones match anywhere, ASCII ones as whole words."""
    strength: float
    """How much a validating value says on its own (check digits say more than a pattern)."""
    grade: Grade
    open_type: OpenType
    needs_hint: bool = False


SPECS: tuple[KindSpec, ...] = (
    KindSpec(Kind.RESIDENT_ID, N_("resident ID"),
             ("身份证", "证件号", "身份号码", "公民身份", "idcard", "id_card", "id_no", "sfz", "sfzh"),
             1.0, Grade.SENSITIVE_PERSONAL, OpenType.NON_OPEN),
    KindSpec(Kind.USCC, N_("unified social credit code"),
             ("信用代码", "社会信用", "统一代码", "uscc", "credit_code"),
             1.0, Grade.GENERAL, OpenType.UNCONDITIONAL),
    KindSpec(Kind.ORG_CODE, N_("organisation code"),
             ("机构代码", "组织代码", "org_code"), 0.95, Grade.GENERAL, OpenType.UNCONDITIONAL),
    KindSpec(Kind.BANK_CARD, N_("bank card number"),
             ("卡号", "银行卡", "账号", "帐号", "银行账户", "card", "account"),
             0.9, Grade.SENSITIVE_PERSONAL, OpenType.NON_OPEN),
    KindSpec(Kind.MOBILE, N_("mobile number"),
             ("手机", "电话", "联系方式", "联系号码", "mobile", "phone", "tel", "cell"),
             0.9, Grade.PERSONAL, OpenType.NON_OPEN),
    KindSpec(Kind.LANDLINE, N_("landline number"),
             ("电话", "座机", "固话", "传真", "联系方式", "tel", "phone", "fax"),
             0.75, Grade.PERSONAL, OpenType.CONDITIONAL),
    KindSpec(Kind.PLATE, N_("vehicle plate"),
             ("车牌", "号牌", "plate"), 0.9, Grade.PERSONAL, OpenType.NON_OPEN),
    KindSpec(Kind.PASSPORT, N_("passport number"),
             ("护照", "passport"), 0.85, Grade.SENSITIVE_PERSONAL, OpenType.NON_OPEN),
    KindSpec(Kind.HK_MACAU_PERMIT, N_("travel permit number"),
             ("通行证", "港澳", "回乡证", "台胞", "permit"),
             0.85, Grade.SENSITIVE_PERSONAL, OpenType.NON_OPEN),
    KindSpec(Kind.EMAIL, N_("e-mail address"),
             ("邮箱", "电子邮件", "邮件", "email", "mail"), 0.95, Grade.PERSONAL, OpenType.NON_OPEN),
    KindSpec(Kind.IPV4, N_("IP address"),
             ("ip地址", "登录ip", "ip", "ipv4"), 0.85, Grade.PERSONAL, OpenType.CONDITIONAL),
    KindSpec(Kind.PERSON_NAME, N_("person name"),
             ("姓名", "名字", "联系人", "负责人", "法定代表人", "法人代表", "申请人", "户主",
              "经办人", "投诉人", "当事人", "name", "fullname", "full_name", "contact"),
             0.85, Grade.PERSONAL, OpenType.NON_OPEN, needs_hint=True),
    KindSpec(Kind.ADDRESS, N_("postal address"),
             ("地址", "住址", "住所", "居住地", "户籍地", "所在地", "address", "addr"),
             0.8, Grade.PERSONAL, OpenType.NON_OPEN),
)
SPEC = {spec.kind: spec for spec in SPECS}
# Headers naming organisations or things, never people, even when they contain "name".
_NOT_PERSON = ("公司", "企业", "单位", "机构", "名称", "company", "org", "product", "file")


def header_hints(header: str) -> dict[Kind, str]:
    """Kinds whose hints occur in ``header``, each with the hint that matched."""
    low = header.strip().lower()
    words = set(re.split(r"[^a-z0-9]+", low))
    found: dict[Kind, str] = {}
    for spec in SPECS:
        for hint in spec.hints:
            ascii_hint = hint.isascii()
            if (ascii_hint and (hint in words or low.replace(" ", "_") == hint)) or (
                not ascii_hint and hint in low
            ):
                found[spec.kind] = hint
                break
    if Kind.PERSON_NAME in found and any(word in low for word in _NOT_PERSON):
        del found[Kind.PERSON_NAME]
    return found


def most_restrictive_grade(grades: list[Grade]) -> Grade:
    return max(grades, key=GRADE_ORDER.index, default=Grade.GENERAL)


def most_restrictive_open_type(types: list[OpenType]) -> OpenType:
    return max(types, key=OPEN_ORDER.index, default=OpenType.UNCONDITIONAL)
