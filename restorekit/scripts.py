"""Restore scripts and pipescripts of a delivery, read with :mod:`ast` (never executed)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from .errors import DocumentError

RESTORE_TASKS = ("hifa_restoredata", "hsd_restoredata", "hifv_restoredata", "h_restoredata")
IMPORT_TASKS = ("hifa_importdata", "hsd_importdata", "hifv_importdata", "h_importdata")
FIX_FUNCTIONS = ("fixsyscaltimes",)
FIX_MARK = "SACM/JAO - Fixes"


@dataclass(frozen=True)
class TaskCall:
    task: str
    vis: list[str]
    session: list[str]
    ocorr_mode: str | None
    line: int


@dataclass(frozen=True)
class DeliveredScript:
    """What a restore script or pipescript does.

    Attributes
    ----------
    restore
        The ``*_restoredata`` call, if any.
    imports
        ``*_importdata`` calls.
    fixes
        ``(function, vis)`` of each data fix applied (``fixsyscaltimes``).
    fix_modules
        Modules the fixes are imported from (``recipes.almahelpers``, ``casarecipes...``).
    marked
        The script carries the ``# SACM/JAO - Fixes`` comment.
    """

    restore: TaskCall | None
    imports: list[TaskCall] = field(default_factory=list)
    fixes: list[tuple[str, str | None]] = field(default_factory=list)
    fix_modules: list[str] = field(default_factory=list)
    marked: bool = False

    @property
    def has_fixes(self) -> bool:
        return bool(self.fixes or self.fix_modules)

    @property
    def casa_generation(self) -> int | None:
        """6 for ``casarecipes``, 5 for ``recipes``: where the fixes are imported from."""
        if any(m.startswith("casarecipes") for m in self.fix_modules):
            return 6
        if self.fix_modules:
            return 5
        return None


def parse_script(text: str, *, name: str = "the script") -> DeliveredScript:
    """Read a delivered restore script or pipescript.

    Raises
    ------
    DocumentError
        If it is not valid Python.
    """
    try:
        tree = ast.parse(text, filename=name)
    except SyntaxError as exc:
        raise DocumentError(f"{name} is not valid Python ({exc.msg}, line {exc.lineno})") from None
    restore = None
    imports, fixes, modules = [], [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if any(alias.name in FIX_FUNCTIONS for alias in node.names):
                modules.append(node.module)
        elif isinstance(node, ast.Call):
            fn = _name(node.func)
            if fn in RESTORE_TASKS and restore is None:
                restore = _task(node, fn)
            elif fn in IMPORT_TASKS:
                imports.append(_task(node, fn))
            elif fn in FIX_FUNCTIONS:
                vis = _literal(_argument(node, "vis", 0))
                fixes.append((fn, vis if isinstance(vis, str) else None))
    return DeliveredScript(restore, imports, fixes, modules, FIX_MARK in text)


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _argument(call: ast.Call, keyword: str, position: int) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    return call.args[position] if len(call.args) > position else None


def _literal(node: ast.expr | None) -> object:
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return None


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str)]
    return []


def _task(call: ast.Call, task: str) -> TaskCall:
    mode = _literal(_argument(call, "ocorr_mode", 99))
    return TaskCall(
        task=task,
        vis=_strings(_literal(_argument(call, "vis", 0))),
        session=_strings(_literal(_argument(call, "session", 1))),
        ocorr_mode=mode if isinstance(mode, str) else None,
        line=call.lineno,
    )
