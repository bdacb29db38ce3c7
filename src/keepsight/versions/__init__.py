"""Dataset versions (immutable snapshots), their diff and export, the change log, lineage and blob GC."""

from keepsight.versions.api import VersionInfo, create_version, get_version, latest_version, list_versions
from keepsight.versions.changes import relabel, remove_samples, restore_samples
from keepsight.versions.diff import VersionDiff, diff_versions
from keepsight.versions.export import export_version
from keepsight.versions.gc import GcReport, collect_garbage
from keepsight.versions.lineage import list_models, models_for_version, models_trained_on, register_model
from keepsight.versions.log import LogEntry, change_log

__all__ = [
    "GcReport",
    "LogEntry",
    "VersionDiff",
    "VersionInfo",
    "change_log",
    "collect_garbage",
    "create_version",
    "diff_versions",
    "export_version",
    "get_version",
    "latest_version",
    "list_models",
    "list_versions",
    "models_for_version",
    "models_trained_on",
    "register_model",
    "relabel",
    "remove_samples",
    "restore_samples",
]
