"""Desensitisation plans as the provider edits them: labels, the rows of the plan form, and the
check that no personal data is published as it came."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kaifang.errors import ValidationFailed
from kaifang.i18n import N_, _
from kaifang.ingest import Action, DetectionReport, Grade, Kind, Plan
from kaifang.ingest.desensitise import LEVELS
from kaifang.ingest.kinds import GRADE_LABELS, OPEN_TYPE_LABELS, SPEC

ACTION_LABELS = {
    Action.KEEP: N_("Keep as is"),
    Action.MASK: N_("Mask"),
    Action.PSEUDONYM: N_("Pseudonym (keyed hash)"),
    Action.GENERALISE: N_("Generalise"),
    Action.SUPPRESS: N_("Suppress (leave empty)"),
    Action.DROP: N_("Drop the column"),
}
LEVEL_LABELS = {
    "year": N_("Year of a date"),
    "month": N_("Month of a date"),
    "band": N_("Range of numbers"),
    "district": N_("District of an address"),
    "birth_year": N_("Birth year of an ID number"),
}
KIND_LABELS = {kind: SPEC[kind].label for kind in Kind}
assert set(LEVEL_LABELS) == set(LEVELS)


def unprotected_columns(detection: DetectionReport, plan: Plan) -> list[str]:
    """Columns of personal data (not legal-entity codes) that the plan keeps unchanged."""
    return [found.column for found in detection.sensitive
            if found.grade is not Grade.GENERAL and plan.rule(found.column).action is Action.KEEP]


def plan_rows(columns: Sequence[str], detection: Mapping[str, Any], plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per column for the plan form: what was found and the rule proposed."""
    found = {c["column"]: c for c in detection.get("columns", [])}
    rules = plan.get("columns", {})
    rows = []
    for name in columns:
        rule = rules.get(name, {})
        rows.append({"name": name, "found": found.get(name, {}), "action": rule.get("action", "keep"),
                     "kind": rule.get("kind") or (found.get(name, {}).get("kind") or ""),
                     "level": rule.get("level", ""), "width": rule.get("width", ""),
                     "length": rule.get("length", 16)})
    return rows


def plan_from_form(columns: Sequence[str], form: Mapping[str, str], quasi: Sequence[str]) -> dict[str, Any]:
    """The posted plan form (``col-<i>-action`` …, ``kanon-*``) as a plan dictionary; ``Plan.from_dict``
    and ``check_plan`` judge it."""
    rules: dict[str, Any] = {}
    for index, name in enumerate(columns):
        action = form.get(f"col-{index}-action", "keep")
        if action == Action.KEEP:
            continue
        rule: dict[str, Any] = {"action": action}
        if action == Action.MASK and form.get(f"col-{index}-kind"):
            rule["kind"] = form[f"col-{index}-kind"]
        if action == Action.GENERALISE:
            rule["level"] = form.get(f"col-{index}-level") or None
            rule["width"] = _number(form.get(f"col-{index}-width", ""))
        rules[name] = rule
    kanon = None
    if quasi:
        k = _number(form.get("kanon-k", "")) or 5
        kanon = {"quasi_identifiers": list(quasi), "k": int(k), "suppress": form.get("kanon-suppress") == "1"}
    return {"columns": rules, "k_anonymity": kanon}


def parse_plan(data: Mapping[str, Any]) -> Plan:
    """A plan dictionary (from the form or the API) as a ``Plan``, or a field error."""
    try:
        return Plan.from_dict(dict(data))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ValidationFailed.single("plan", _("The plan is not valid: %(reason)s", reason=str(exc)[:200])) from None


def _number(text: str) -> float | None:
    try:
        return float(text) if text.strip() else None
    except ValueError:
        return None


__all__ = ["ACTION_LABELS", "GRADE_LABELS", "KIND_LABELS", "LEVEL_LABELS", "OPEN_TYPE_LABELS",
           "parse_plan", "plan_from_form", "plan_rows", "unprotected_columns"]
