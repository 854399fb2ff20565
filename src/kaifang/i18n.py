"""Translations: gettext catalogs read from the shipped .po files, the locale held per request.

Message ids are English; ``en`` needs no catalog. The .po files under
``translations/zh_CN/LC_MESSAGES/`` (one per area) are the single source, compiled in memory at
start-up, so no generated .mo files live in the tree.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

CATALOG_DIR = Path(__file__).parent / "translations"
DOMAIN = "messages"
LOCALES: dict[str, str] = {"zh_CN": "简体中文", "en": "English"}
DEFAULT_LOCALE = "zh_CN"

_current_locale: ContextVar[str] = ContextVar("kaifang_locale", default=DEFAULT_LOCALE)


@cache
def translations_for(locale: str) -> NullTranslations:
    """All ``*.po`` files of a locale, merged (one file per area keeps edits apart)."""
    files = sorted((CATALOG_DIR / locale / "LC_MESSAGES").glob("*.po"))
    if not files:
        return NullTranslations()
    merged = None
    for po_path in files:
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        if merged is None:
            merged = catalog
            continue
        for message in catalog:
            if message.id and message.string:
                merged[message.id] = message
    assert merged is not None
    buffer = io.BytesIO()
    write_mo(buffer, merged)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def normalise_locale(value: str | None) -> str | None:
    """Map 'zh', 'zh-CN', 'zh_Hans', 'en-US'… to a shipped locale, or None."""
    if not value:
        return None
    tag = value.strip().replace("-", "_").lower()
    if tag.startswith("zh"):
        return "zh_CN"
    if tag.startswith("en"):
        return "en"
    return None


def locale_from_accept_language(header: str | None) -> str | None:
    if not header:
        return None
    weighted: list[tuple[float, str]] = []
    for part in header.split(","):
        lang, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        found = normalise_locale(lang)
        if found:
            weighted.append((weight, found))
    return max(weighted)[1] if weighted else None


def set_locale(locale: str) -> object:
    return _current_locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)


def reset_locale(token: object) -> None:
    _current_locale.reset(token)  # type: ignore[arg-type]


def get_locale() -> str:
    return _current_locale.get()


def gettext(message: str, **params: object) -> str:
    text = translations_for(get_locale()).gettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: object) -> str:
    text = translations_for(get_locale()).ngettext(singular, plural, n)
    return text % {"num": n, **params}


def gettext_noop(message: str) -> str:
    """Marks a string for extraction where it is translated later (labels of enums…)."""
    return message


_ = gettext
N_ = gettext_noop
