"""Imports every table module so that Base.metadata is complete (Alembic, test set-up)."""

from kaifang.access import models as access_models
from kaifang.applications import models as applications_models
from kaifang.audit import models as audit_models
from kaifang.auth import models as auth_models
from kaifang.calendar import models as calendar_models
from kaifang.cases import models as cases_models
from kaifang.catalog import models as catalog_models
from kaifang.catalog.search import models as search_models
from kaifang.datasets import models as datasets_models
from kaifang.notify import models as notify_models

__all__ = ["access_models", "applications_models", "audit_models", "auth_models", "calendar_models", "cases_models",
           "catalog_models", "datasets_models", "notify_models", "search_models"]
