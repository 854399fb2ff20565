from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from kaifang.config import Settings
from kaifang.i18n import reset_locale, set_locale
from tests.unit.cases.helpers import People, make_people


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    token = set_locale("en")
    yield
    reset_locale(token)


@pytest.fixture
def people(session: Session, settings: Settings) -> People:
    return make_people(session, settings)
