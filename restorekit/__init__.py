"""restorekit: restore the calibrated data of an ALMA member ObsUnitSet (MOUS).

The public API::

    import restorekit

    engine = restorekit.connect("sqlite:///archive.db")         # or Oracle; default: demo
    inspection = restorekit.inspect_mous("uid://A001/X12a3/X80e", engine=engine)
    plan = inspection.plan                                        # a RestorePlan
    area = restorekit.prepare_restore(plan.mous, "restore-area", engine=engine)
    report = restorekit.check_area(area.layout.mous_dir)          # the preflight
    result = restorekit.survey(engine)                            # how common is each finding

Errors are :class:`RestorekitError` subclasses with one-line messages.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS = {
    "connect": "sources.archive",
    "inspect_mous": "inspection",
    "plan_mous": "inspection",
    "Inspection": "inspection",
    "prepare_restore": "restore.prepare",
    "PreparedRestore": "restore.prepare",
    "check_area": "restore.check",
    "CheckReport": "restore.check",
    "survey": "archive_survey",
    "SurveyResult": "archive_survey",
    "RestorePlan": "rules.plan",
    "Finding": "rules.findings",
    "SiteSettings": "settings",
    "RestorekitError": "errors",
    "InputError": "errors",
    "ConfigurationError": "errors",
    "ArchiveError": "errors",
    "NgasError": "errors",
    "DocumentError": "errors",
    "DegradedEvidenceError": "errors",
    "NotRestorableError": "errors",
    "RestoreAreaError": "errors",
    "PprCheckError": "errors",
    "PreflightError": "errors",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'restorekit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # for type checkers and IDEs; at run time names load on first use
    # ruff: noqa: F401
    from restorekit.archive_survey import SurveyResult, survey
    from restorekit.errors import (
        ArchiveError,
        ConfigurationError,
        DegradedEvidenceError,
        DocumentError,
        InputError,
        NgasError,
        NotRestorableError,
        PprCheckError,
        PreflightError,
        RestoreAreaError,
        RestorekitError,
    )
    from restorekit.inspection import Inspection, inspect_mous, plan_mous
    from restorekit.restore.check import CheckReport, check_area
    from restorekit.restore.prepare import PreparedRestore, prepare_restore
    from restorekit.rules.findings import Finding
    from restorekit.rules.plan import RestorePlan
    from restorekit.settings import SiteSettings
    from restorekit.sources.archive import connect
