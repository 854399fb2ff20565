"""The workflows shipped with the platform; importing this package registers them."""

from kaifang.cases.workflows import contact

__all__ = ["contact"]
