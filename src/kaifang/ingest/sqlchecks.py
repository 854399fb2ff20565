"""Identifier checks and value parsers as DuckDB SQL expressions, so they run vectorised.

Every function takes the SQL text of a VARCHAR expression (usually a column name, already
trimmed, upper-cased and stripped of spaces and hyphens where the identifier allows) and returns
the SQL text of an expression. The check-digit arithmetic is unrolled position by position:
no Python runs per value.
"""

from __future__ import annotations

from kaifang.identifiers import (
    ORG_CODE_WEIGHTS,
    RESIDENT_ID_CHECK,
    RESIDENT_ID_WEIGHTS,
    USCC_ALPHABET,
    USCC_WEIGHTS,
)

PROVINCE_CHARS = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_LETTER = "A-HJ-NP-Z"  # GA 36-2018: no I or O
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日")
DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f",
)
TRUE_WORDS = ("true", "t", "yes", "y", "1", "是", "真", "对")
FALSE_WORDS = ("false", "f", "no", "n", "0", "否", "假", "错")


def quote(name: str) -> str:
    """A column name as a DuckDB identifier (any text is allowed, quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _guarded(shape: str, check: str) -> str:
    """Run the costly arithmetic only on values of the right shape (CASE evaluates lazily,
    AND does not)."""
    return f"(CASE WHEN {shape} THEN coalesce({check}, false) ELSE false END)"


def _weighted(chars: str, value_of: str, weights: tuple[int, ...]) -> str:
    """Σ value(cᵢ)·wᵢ over the characters of ``chars``, as one compact list expression (short
    SQL plans in milliseconds; an unrolled sum takes a noticeable time to plan)."""
    values = f"list_transform(string_split({chars}, ''), lambda c: {value_of})"
    return f"CAST(list_inner_product({values}, {list(weights)}) AS INTEGER)"


def _real_date(v: str, start: int, length: int, prefix: str = "") -> str:
    text = f"substr({v}, {start}, {length})"
    if prefix:
        text = f"'{prefix}' || {text}"
    parsed = f"try_strptime({text}, '%Y%m%d')"
    return f"coalesce({parsed} BETWEEN TIMESTAMP '1900-01-01' AND current_date, false)"


def _province(v: str) -> str:
    return f"coalesce(TRY_CAST(substr({v}, 1, 2) AS INTEGER) BETWEEN 11 AND 82, false)"


def resident_id_18(v: str) -> str:
    """GB 11643: 17 digits + MOD 11-2 check, a real birth date, a province (or 9, foreigners)."""
    total = _weighted(f"left({v}, 17)", "ascii(c) - 48", RESIDENT_ID_WEIGHTS)
    check = f"substr('{RESIDENT_ID_CHECK}', ({total} % 11) + 1, 1)"
    return _guarded(
        f"regexp_full_match({v}, '[0-9]{{17}}[0-9X]')",
        f"(substr({v}, 1, 1) = '9' OR {_province(v)}) AND {_real_date(v, 7, 8)} "
        f"AND {check} = substr({v}, 18, 1)",
    )


def resident_id_15(v: str) -> str:
    """The 1989 15-digit ID: no check digit, so the region and the 19yymmdd date must hold."""
    return _guarded(
        f"regexp_full_match({v}, '[0-9]{{15}}')", f"{_province(v)} AND {_real_date(v, 7, 6, '19')}"
    )


def resident_id(v: str) -> str:
    return f"({resident_id_18(v)} OR {resident_id_15(v)})"


def uscc(v: str) -> str:
    """GB 32100: weights 3^i mod 31 over the 31-character alphabet."""
    alphabet = f"'{USCC_ALPHABET}'"
    total = _weighted(f"left({v}, 17)", f"instr({alphabet}, c) - 1", USCC_WEIGHTS)
    check = f"substr({alphabet}, ((31 - {total} % 31) % 31) + 1, 1)"
    chars = "0-9A-HJ-NPQRTUWXY"
    return _guarded(
        f"regexp_full_match({v}, '[1-9ANY][{chars}][0-9]{{6}}[{chars}]{{10}}')",
        f"{check} = substr({v}, 18, 1)",
    )


def org_code(v: str) -> str:
    """GB 11714: 8 characters + check (digit or X), with or without the hyphen."""
    w = f"replace({v}, '-', '')"
    value_of = "CASE WHEN c BETWEEN '0' AND '9' THEN ascii(c) - 48 ELSE ascii(c) - 55 END"
    c = f"(11 - {_weighted(f'left({w}, 8)', value_of, ORG_CODE_WEIGHTS)} % 11)"
    check = f"(CASE {c} WHEN 10 THEN 'X' WHEN 11 THEN '0' ELSE CAST({c} AS VARCHAR) END)"
    return _guarded(f"regexp_full_match({v}, '[0-9A-Z]{{8}}-?[0-9X]')", f"{check} = substr({w}, 9, 1)")


def mobile(v: str) -> str:
    """Current mainland blocks; ``v`` has spaces and hyphens removed, +86 is allowed."""
    return (
        f"regexp_full_match({v}, '(\\+?86)?1(3[0-9]|4[5-9]|5[0-35-9]|6[2567]|7[0-9]|8[0-9]"
        f"|9[0-35-9])[0-9]{{8}}')"
    )


def landline(v: str, *, bare: bool = False) -> str:
    """With an area code ((010) or 010-); a bare 7–8 digit number only when ``bare``."""
    area = "(\\(0[0-9]{2,3}\\)|0[0-9]{2,3}-?)"
    if bare:
        area += "?"
    return f"regexp_full_match({v}, '{area}[2-9][0-9]{{6,7}}(-[0-9]{{1,6}})?')"


def luhn(v: str) -> str:
    """Luhn: from the right, every second digit doubled (minus 9 above 9), sum divisible by 10."""
    doubled = "CASE WHEN (ascii(d) - 48) * 2 > 9 THEN (ascii(d) - 48) * 2 - 9 ELSE (ascii(d) - 48) * 2 END"
    digits = (f"list_transform(string_split(reverse({v}), ''), "
              f"lambda d, i: CASE WHEN i % 2 = 0 THEN {doubled} ELSE ascii(d) - 48 END)")
    return _guarded(f"regexp_full_match({v}, '[0-9]{{2,19}}')", f"list_sum({digits}) % 10 = 0")


def bank_card_format(v: str) -> str:
    return f"regexp_full_match({v}, '[0-9]{{16,19}}')"


def plate(v: str) -> str:
    """GA 36-2018 plates, incl. 8-character new-energy plates (D/A/B/C/E electric, F/G/H/J/K)."""
    prov = f"[{PROVINCE_CHARS}]"
    ordinary = f"{prov}[{PLATE_LETTER}][{PLATE_LETTER}0-9]{{4}}[{PLATE_LETTER}0-9挂学警港澳]"
    small_ne = f"{prov}[{PLATE_LETTER}][DABCEFGHJK][{PLATE_LETTER}0-9][0-9]{{4}}"
    large_ne = f"{prov}[{PLATE_LETTER}][0-9]{{5}}[DABCEFGHJK]"
    return f"regexp_full_match({v}, '{ordinary}|{small_ne}|{large_ne}')"


def passport(v: str) -> str:
    return (
        f"regexp_full_match({v}, 'E[0-9]{{8}}|E[A-HJ-NP-Z][0-9]{{7}}|G[0-9]{{8}}"
        f"|(SE|DE|PE)[0-9]{{7}}')"
    )


def travel_permit(v: str, *, taiwan: bool = False) -> str:
    """Permits for HK/Macau residents ([HM] + 8 or 10 digits), to HK/Macau (C…); Taiwan
    compatriots' 8 digits only with a header hint, as 8 bare digits are too common."""
    pattern = "[HM][0-9]{8}([0-9]{2})?|C[0-9A-HJ-NP-Z][0-9]{7}"
    if taiwan:
        pattern += "|[0-9]{8}"
    return f"regexp_full_match({v}, '{pattern}')"


def email(v: str) -> str:
    return (
        f"regexp_full_match({v}, '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*"
        f"\\.[A-Za-z]{{2,}}')"
    )


def ipv4(v: str) -> str:
    octet = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
    return f"regexp_full_match({v}, '{octet}(\\.{octet}){{3}}')"


def person_name(v: str, surnames: str, compound: str) -> str:
    """2–4 Han characters starting with a known surname, or a name with the middle dot used in
    transliterated minority names (买买提·艾力)."""
    single = f"list_contains({surnames}, substr({v}, 1, 1))"
    double = f"list_contains({compound}, substr({v}, 1, 2))"
    han = _guarded(f"regexp_full_match({v}, '\\p{{Han}}{{2,4}}')", f"{single} OR {double}")
    return f"({han} OR regexp_full_match({v}, '\\p{{Han}}{{1,8}}[·•]\\p{{Han}}{{1,8}}'))"


ADMIN = "(省|自治区|市|自治州|地区|盟|区|县|旗)"
STREET = "(路|街|大道|道|巷|弄|胡同|里|村|镇|乡|小区|花园|大厦|苑)"
NUMBER = "([0-9０-９]+|[一二三四五六七八九十百]+)(号|弄|栋|幢|室|单元|楼|组|层)"


def address(v: str, *, hinted: bool = False) -> str:
    """An administrative unit, then a street-level name, then a house number; with a header hint
    an administrative unit and any street or number part are enough."""
    strong = f"regexp_matches({v}, '{ADMIN}.{{0,30}}{STREET}.{{0,20}}{NUMBER}')"
    if not hinted:
        return strong
    loose = f"(length({v}) >= 5 AND regexp_matches({v}, '{ADMIN}.*({STREET}|{NUMBER})'))"
    return f"({strong} OR {loose})"


# Trying a dozen formats is slow, so only strings that start like a date are tried.
_DATE_SHAPE = "^[0-9]{4}([-/.年][0-9]{1,2}|[0-9]{4})"


def parse_date(v: str) -> str:
    formats = ", ".join(literal(f) for f in DATE_FORMATS)
    return (f"(CASE WHEN regexp_matches({v}, '{_DATE_SHAPE}') "
            f"THEN CAST(try_strptime({v}, [{formats}]) AS DATE) END)")


def parse_datetime(v: str) -> str:
    formats = ", ".join(literal(f) for f in DATETIME_FORMATS)
    return (f"(CASE WHEN NOT regexp_matches({v}, '{_DATE_SHAPE}') THEN NULL "
            f"WHEN regexp_matches({v}, '[0-9]:[0-9]') THEN try_strptime({v}, [{formats}]) "
            f"ELSE CAST({parse_date(v)} AS TIMESTAMP) END)")


def parse_integer(v: str) -> str:
    """Digits with optional sign and thousands separators; no decimals, at most 18 digits."""
    plain = f"replace({v}, ',', '')"
    return (
        f"(CASE WHEN regexp_full_match({plain}, '[+-]?[0-9]{{1,18}}') "
        f"THEN TRY_CAST({plain} AS BIGINT) END)"
    )


def parse_number(v: str) -> str:
    plain = f"replace({v}, ',', '')"
    return (
        f"(CASE WHEN regexp_full_match({plain}, '[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)"
        f"([eE][+-]?[0-9]+)?') THEN TRY_CAST({plain} AS DOUBLE) END)"
    )


def parse_boolean(v: str) -> str:
    low = f"lower({v})"
    trues = ", ".join(literal(w) for w in TRUE_WORDS)
    falses = ", ".join(literal(w) for w in FALSE_WORDS)
    return f"(CASE WHEN {low} IN ({trues}) THEN true WHEN {low} IN ({falses}) THEN false END)"
