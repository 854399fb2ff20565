from __future__ import annotations

from collections.abc import Iterator

import pytest

from kaifang.i18n import reset_locale, set_locale


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Messages are matched in English; the agreement text stays Chinese whatever the locale."""
    token = set_locale("en")
    yield
    reset_locale(token)
