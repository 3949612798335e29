"""Which of restorekit's modules run compiled: the optional mypyc build (see setup.py) puts an
extension module beside each source it compiles, and Python imports the extension first."""

from __future__ import annotations

from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

PACKAGE = Path(__file__).parent


def compiled_modules() -> list[str]:
    """The dotted names of restorekit's modules that are extension modules, sorted."""
    names = []
    for path in PACKAGE.rglob("*"):
        suffix = next((s for s in EXTENSION_SUFFIXES if path.name.endswith(s)), None)
        if suffix:
            module = path.relative_to(PACKAGE.parent).with_name(path.name[: -len(suffix)])
            names.append(".".join(module.parts))
    return sorted(names)


def build_name() -> str:
    """``compiled (17 modules, mypyc)`` or ``pure Python``: for ``--version`` and benchmarks."""
    count = len(compiled_modules())
    return f"compiled ({count} modules, mypyc)" if count else "pure Python"
