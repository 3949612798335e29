"""The optional compiled build: ``RESTOREKIT_COMPILE=1 pip install .`` compiles the modules the
survey spends its time in with mypyc (about 20 to 30 % off a whole-archive survey, 40 % off the
rules; see benchmarks/survey.py). Without the variable this is a plain pure-Python build; the
metadata is in pyproject.toml, and build_support/backend.py asks for mypy only when compiling."""

import os

from setuptools import setup

COMPILED = [
    "restorekit/uids.py",
    "restorekit/survey_table.py",
    "restorekit/evidence/bulk.py",
    "restorekit/evidence/gather.py",
    "restorekit/rules/calibrated.py",
    "restorekit/rules/casa.py",
    "restorekit/rules/findings.py",
    "restorekit/rules/plan.py",
    "restorekit/rules/reconcile.py",
    "restorekit/rules/releases.py",
    "restorekit/rules/restorecall.py",
    "restorekit/rules/structure.py",
    "restorekit/sources/calapply.py",
    "restorekit/sources/manifest.py",
    "restorekit/sources/ousstatus.py",
    "restorekit/sources/scripts.py",
    "restorekit/sources/xmlsafe.py",
]


def compiling() -> bool:
    return os.environ.get("RESTOREKIT_COMPILE", "") == "1"


def extensions() -> list:
    if not compiling():
        return []
    from mypyc.build import mypycify

    return mypycify(COMPILED, opt_level="3")


if __name__ == "__main__":
    setup(ext_modules=extensions())
