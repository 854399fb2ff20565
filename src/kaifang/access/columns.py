"""The columns a version serves, with the kind of value each holds, and the parsing of the values
people type into filters (``?注册资本__gt=100``) into values of that kind."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from enum import StrEnum

from kaifang.i18n import N_, _

# Row number of the source file, added to every query replica: the key of keyset paging.
ROW = "__kf_row"


class ColumnKind(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"


KIND_LABELS = {
    ColumnKind.TEXT: N_("Text"), ColumnKind.INTEGER: N_("Integer"), ColumnKind.NUMBER: N_("Decimal"),
    ColumnKind.DATE: N_("Date"), ColumnKind.DATETIME: N_("Date and time"), ColumnKind.BOOLEAN: N_("Yes/no"),
}
# The CKAN DataStore's type names, for datastore_search's ``fields``.
CKAN_TYPES = {
    ColumnKind.TEXT: "text", ColumnKind.INTEGER: "int", ColumnKind.NUMBER: "numeric",
    ColumnKind.DATE: "date", ColumnKind.DATETIME: "timestamp", ColumnKind.BOOLEAN: "bool",
}
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "是", "t"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "否", "f"})


def kind_of(arrow_type: str) -> ColumnKind:
    """The kind of an Arrow type as written in ``DatasetVersion.schema`` (``str(pa.DataType)``)."""
    name = arrow_type.lower()
    if name.startswith(("int", "uint")):
        return ColumnKind.INTEGER
    if name.startswith(("double", "float", "halffloat", "decimal")):
        return ColumnKind.NUMBER
    if name.startswith("date"):
        return ColumnKind.DATE
    if name.startswith("timestamp"):
        return ColumnKind.DATETIME
    if name in ("bool", "boolean"):
        return ColumnKind.BOOLEAN
    return ColumnKind.TEXT


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind
    title: str = ""
    # Served as a per-grant keyed pseudonym (conditional grants only).
    pseudonymised: bool = False

    @property
    def orderable(self) -> bool:
        return self.kind is not ColumnKind.BOOLEAN


def _integer(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError(_("“%(value)s” is not a whole number.", value=text[:80])) from None
    if not -(2**63) <= value < 2**63:
        raise ValueError(_("“%(value)s” is too large.", value=text[:80]))
    return value


def _number(text: str) -> float:
    try:
        number = float(text.strip())
    except ValueError:
        raise ValueError(_("“%(value)s” is not a number.", value=text[:80])) from None
    if not math.isfinite(number):
        raise ValueError(_("“%(value)s” is not a number.", value=text[:80]))
    return number


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(_("“%(value)s” is not a date (YYYY-MM-DD).", value=text[:80])) from None


def _datetime(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(_("“%(value)s” is not a date and time (YYYY-MM-DDTHH:MM:SS).", value=text[:80])) from None
    # Stored times are Beijing times without a zone: compare like with like.
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(dt.timezone(dt.timedelta(hours=8)))
        except OverflowError:  # 0001-01-01T00:00:00+09:00 has no Beijing time
            raise ValueError(_("“%(value)s” is out of range.", value=text[:80])) from None
    return moment.replace(tzinfo=None)


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise ValueError(_("“%(value)s” is not true or false.", value=text[:80]))


_PARSERS = {ColumnKind.INTEGER: _integer, ColumnKind.NUMBER: _number, ColumnKind.DATE: _date,
            ColumnKind.DATETIME: _datetime, ColumnKind.BOOLEAN: _boolean}


def parse_value(column: Column, text: str) -> object:
    """The typed value of ``text`` for ``column``; ValueError with a localised message otherwise.
    Text is taken exactly as given (spaces count)."""
    kind = ColumnKind.TEXT if column.pseudonymised else column.kind
    parser = _PARSERS.get(kind)
    return text if parser is None else parser(text)


def columns_of(schema: list[list[str]], titles: dict[str, str] | None = None,
               pseudonymised: frozenset[str] = frozenset()) -> list[Column]:
    """The served columns of a version's schema, in file order."""
    titles = titles or {}
    return [Column(name, kind_of(type_), titles.get(name, ""), name in pseudonymised)
            for name, type_ in schema if name != ROW]
