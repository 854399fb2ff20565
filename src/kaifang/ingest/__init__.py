"""Data ingest: sniff → read → validate → detect sensitive columns → desensitise → Parquet.

Pure functions and small classes over files, Arrow and DuckDB; no database and no web, so that a
job runner and an upload handler can both call them.
"""

from __future__ import annotations

from kaifang.ingest.desensitise import (
    Action,
    ColumnRule,
    KAnonymity,
    Plan,
    apply_plan,
    drop,
    generalise,
    keep,
    mask,
    pseudonym,
    pseudonym_value,
    suppress,
)
from kaifang.ingest.detect import ColumnDetection, DetectionReport, detect_samples, detect_table
from kaifang.ingest.errors import Code, IngestError
from kaifang.ingest.kanon import KAnonymityReport, k_anonymity, suppress_small_classes
from kaifang.ingest.kinds import Grade, Kind, OpenType
from kaifang.ingest.limits import Limits
from kaifang.ingest.pipeline import IngestResult, ingest_file, profile_output
from kaifang.ingest.profile import TableProfile, profile_table
from kaifang.ingest.readers import open_table, read_table
from kaifang.ingest.safety import neutralise_array, neutralise_cell
from kaifang.ingest.sniff import Format, Sniffed, sniff_bytes, sniff_file
from kaifang.ingest.validate import DataItem, ItemType, ValidationReport

__all__ = [
    "Action", "Code", "ColumnDetection", "ColumnRule", "DataItem", "DetectionReport", "Format",
    "Grade", "IngestError", "IngestResult", "ItemType", "KAnonymity", "KAnonymityReport", "Kind",
    "Limits", "OpenType", "Plan", "Sniffed", "TableProfile", "ValidationReport", "apply_plan",
    "detect_samples", "detect_table", "drop", "generalise", "ingest_file", "k_anonymity", "keep",
    "mask", "neutralise_array", "neutralise_cell", "open_table", "profile_output", "profile_table", "pseudonym",
    "pseudonym_value", "read_table", "sniff_bytes", "sniff_file", "suppress",
    "suppress_small_classes",
]
