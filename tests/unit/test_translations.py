"""Every translatable string of the code and templates has a Chinese translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from kaifang.i18n import translations_for

ROOT = Path(__file__).resolve().parents[2]
METHOD_MAP = [("src/kaifang/**.py", "python"), ("src/kaifang/web/templates/**.html", "jinja2")]
OPTIONS = {"src/kaifang/web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}


def test_every_message_has_a_chinese_translation():
    zh = translations_for("zh_CN")
    missing = []
    for filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), METHOD_MAP, OPTIONS, KEYWORDS):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid and zh.gettext(msgid) == msgid:
            missing.append(f"{filename}: {msgid}")
    assert missing == [], "untranslated:\n" + "\n".join(missing)
