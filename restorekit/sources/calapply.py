"""Reader of a delivered ``*.calapply.txt``: one ``applycal(...)`` line per calibration applied."""

from __future__ import annotations

import ast
import os

CALAPPLY_KEYS = (
    "vis",
    "field",
    "intent",
    "spw",
    "antenna",
    "gaintable",
    "gainfield",
    "spwmap",
    "interp",
    "calwt",
)
"""What the pipeline's ``CalApplication.from_export`` reads from each line (it ``eval``s it)."""


def gaintables(line: str) -> list[str] | str:
    """Basenames of the ``gaintable`` of one ``applycal(...)`` line, or what is wrong with it.

    The pipeline evaluates each line as Python, so only a plain call of literals is accepted.
    """
    try:
        node = ast.parse(line.strip(), mode="eval").body
    except SyntaxError:
        return "is not Python"
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        return "is not an applycal(...) call"
    if node.func.id != "applycal" or node.args:
        return "is not an applycal(...) call of keyword arguments"
    values = {}
    for kw in node.keywords:
        try:
            values[kw.arg] = ast.literal_eval(kw.value)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return f"passes {kw.arg} as an expression, not a literal (the pipeline evaluates it)"
    lacking = [k for k in CALAPPLY_KEYS if k not in values]
    if lacking:
        return f"lacks {', '.join(lacking)} (the restore reads them)"
    tables = values["gaintable"]
    tables = [tables] if isinstance(tables, str) else tables
    return [os.path.basename(str(t).rstrip("/")) for t in tables]
