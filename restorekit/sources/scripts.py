"""Restore scripts and pipescripts of a delivery, read with :mod:`ast` (never executed).

What deliveries really hold (the pipeline's export, and JAO's tool that adds the SACM/JAO
fixes): restore tasks of every generation (``hif_restoredata`` before November 2016, then
``hifa_``/``hsd_``/``hifv_``/``h_restoredata``); fix calls after the ``*_importdata`` call, one or
more per EB, each marked ``# SACM/JAO - Fixes``; and sometimes only the import of a fix, never
called (total-power scripts have no ``hifa_importdata`` line to put the calls after).
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from restorekit.errors import DocumentError

RESTORE_TASKS = (
    "hifa_restoredata",
    "hif_restoredata",
    "hsd_restoredata",
    "hsdn_restoredata",
    "hifv_restoredata",
    "h_restoredata",
)
IMPORT_TASKS = tuple(t.replace("_restoredata", "_importdata") for t in RESTORE_TASKS)
FIX_FUNCTIONS = ("fixsyscaltimes", "fixplanets")
"""Data fixes known by name; any function imported from ``almahelpers`` is one too."""
FIX_MARK = "SACM/JAO - Fixes"
_PIPELINE_TASK = re.compile(r"(h|hif|hifa|hifv|hsd|hsdn)_\w+")
_NOT_LITERAL = object()


@dataclass(frozen=True)
class TaskCall:
    """A pipeline import or restore call.

    ``keywords`` holds every keyword argument but ``vis`` and ``session`` whose value is a
    literal, in the order written; ``opaque`` names those whose value is not.
    """

    task: str
    vis: list[str]
    session: list[str]
    keywords: dict[str, object]
    line: int
    opaque: tuple[str, ...] = ()

    @property
    def ocorr_mode(self) -> str | None:
        mode = self.keywords.get("ocorr_mode")
        return mode if isinstance(mode, str) else None


@dataclass(frozen=True)
class FixCall:
    """One data-fix call as delivered: ``function(*args, **keywords)``.

    ``literal`` is False when the function is not a plain name or an argument is not a
    literal; such a call cannot be carried into a generated script safely.
    """

    function: str
    args: tuple[object, ...]
    keywords: tuple[tuple[str, object], ...]
    line: int
    text: str
    literal: bool = True
    module: str | None = None
    """Where the delivery imports the function from; ``None`` for a CASA task."""

    @property
    def vis(self) -> str | None:
        value = dict(self.keywords).get("vis", self.args[0] if self.args else None)
        return value if isinstance(value, str) else None

    def render(self) -> str:
        """The call as Python source: same function, same arguments in the same order."""
        if not self.literal:
            raise ValueError(f"the fix call {self.text!r} has non-literal parts")
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.keywords]
        return f"{self.function}({', '.join(parts)})"


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
        Data-fix calls, in the order written.
    fix_imports
        Fix function -> the module it is imported from (``recipes.almahelpers``, ...).
    marked
        The script carries the ``# SACM/JAO - Fixes`` comment.
    """

    restore: TaskCall | None
    imports: list[TaskCall] = field(default_factory=list)
    fixes: list[FixCall] = field(default_factory=list)
    fix_imports: dict[str, str] = field(default_factory=dict)
    marked: bool = False

    @property
    def import_only(self) -> bool:
        """A fix is imported but no fix is called."""
        return bool(self.fix_imports) and not self.fixes

    @property
    def casa_generation(self) -> int | None:
        """6 for ``casarecipes``/``casatasks``, 5 for ``recipes``: where fixes come from."""
        modules = set(self.fix_imports.values())
        if any(m.startswith(("casarecipes", "casatasks")) for m in modules):
            return 6
        return 5 if modules else None


def script_to_plain(script: DeliveredScript) -> dict:
    """The script's reading as JSON-ready values (for :func:`script_from_plain`); literal
    values JSON cannot hold (tuples, sets, bytes) come back otherwise, which the cache checks."""
    return dataclasses.asdict(script)


def script_from_plain(plain: dict) -> DeliveredScript:
    def task(t: dict) -> TaskCall:
        return TaskCall(**{**t, "opaque": tuple(t["opaque"])})

    fixes = [
        FixCall(
            **{
                **f,
                "args": tuple(f["args"]),
                "keywords": tuple((k, v) for k, v in f["keywords"]),
            }
        )
        for f in plain["fixes"]
    ]
    imports = [task(t) for t in plain["imports"]]
    restore = task(plain["restore"]) if plain["restore"] is not None else None
    return DeliveredScript(restore, imports, fixes, plain["fix_imports"], plain["marked"])


_LINE_BREAK = re.compile(r"\r\n?|\n")


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
    lines = _LINE_BREAK.split(text)  # as the parser counts lines (not str.splitlines)
    marked = {i for i, line in enumerate(lines, start=1) if FIX_MARK in line}
    statements = list(_statements(tree))
    fix_imports = _fix_imports(statements)
    restore, imports, fixes = None, [], []
    expressions = [n.value for n in statements if isinstance(n, ast.Expr)]
    calls = sorted(
        (c for c in expressions if isinstance(c, ast.Call)), key=lambda c: (c.lineno, c.col_offset)
    )
    for call in calls:
        fn = _name(call.func)
        if fn in RESTORE_TASKS:
            restore = restore or _task(call, fn)
        elif fn in IMPORT_TASKS:
            imports.append(_task(call, fn))
        elif fn in FIX_FUNCTIONS or fn in fix_imports or _marked_fix(call, fn, marked):
            fixes.append(_fix(call, fn or "", lines, fix_imports.get(fn or "")))
    return DeliveredScript(restore, imports, fixes, fix_imports, bool(marked))


def _statements(tree: ast.Module) -> Iterator[ast.AST]:
    """Every statement, however nested (``try``, ``if``, ``def``...), in file order; without
    visiting expressions, which hold most of a script's nodes (``ast.walk`` would)."""
    stack: list[ast.AST] = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        yield node
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, name, None)
            if isinstance(children, list):
                stack.extend(reversed(children))


def _fix_imports(statements: list[ast.AST]) -> dict[str, str]:
    out = {}
    for node in statements:
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if alias.name in FIX_FUNCTIONS or node.module.endswith("almahelpers"):
                    out[alias.asname or alias.name] = node.module
    return out


def _marked_fix(call: ast.Call, fn: str | None, marked: set[int]) -> bool:
    """A call on a line marked as a SACM/JAO fix that is not a pipeline task."""
    end = call.end_lineno or call.lineno
    on_marked_line = any(line in marked for line in range(call.lineno, end + 1))
    return on_marked_line and not (fn and _PIPELINE_TASK.fullmatch(fn))


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _value(node: ast.expr) -> object:
    """A literal's value; CASA 5's ``T``/``F`` read as booleans; else ``_NOT_LITERAL``."""
    if isinstance(node, ast.Name) and node.id in ("T", "F"):
        return node.id == "T"
    # The common shapes first, as literal_eval reads them: a constant, a list of constants.
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List):
        constants = [e for e in node.elts if isinstance(e, ast.Constant)]
        if len(constants) == len(node.elts):
            return [e.value for e in constants]
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _NOT_LITERAL


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str)]
    return []


def _task(call: ast.Call, task: str) -> TaskCall:
    given = {kw.arg: kw.value for kw in call.keywords if kw.arg}
    for position, key in enumerate(("vis", "session")):
        if key not in given and len(call.args) > position:
            given[key] = call.args[position]
    keywords, opaque = {}, []
    for key, node in given.items():
        value = _value(node)
        if value is _NOT_LITERAL:
            opaque.append(key)
        elif key not in ("vis", "session"):
            keywords[key] = value
    vis = _value(given["vis"]) if "vis" in given else None
    session = _value(given["session"]) if "session" in given else None
    return TaskCall(task, _strings(vis), _strings(session), keywords, call.lineno, tuple(opaque))


def _fix(call: ast.Call, fn: str, lines: list[str], module: str | None) -> FixCall:
    args = tuple(_value(a) for a in call.args)
    keywords = tuple((kw.arg or "**", _value(kw.value)) for kw in call.keywords)
    literal = (
        isinstance(call.func, ast.Name)
        and fn.isidentifier()
        and all(v is not _NOT_LITERAL for v in args)
        and all(k != "**" and v is not _NOT_LITERAL for k, v in keywords)
    )
    source = _segment(lines, call) or fn
    return FixCall(fn, args, keywords, call.lineno, " ".join(source.split()), literal, module)


def _segment(lines: list[str], node: ast.expr) -> str:
    """The source of ``node`` (as :func:`ast.get_source_segment`, whose re-splitting of the
    whole text per call cost most of a survey's script reading); offsets count UTF-8 bytes."""
    first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    if node.end_col_offset is None or last >= len(lines):
        return ""
    chosen = [line.encode() for line in lines[first : last + 1]]
    if len(chosen) == 1:
        return chosen[0][node.col_offset : node.end_col_offset].decode(errors="replace")
    chosen[0], chosen[-1] = chosen[0][node.col_offset :], chosen[-1][: node.end_col_offset]
    return b"\n".join(chosen).decode(errors="replace")
