"""The survey's tables: one row per MOUS from its plan, the count per finding, and the CASA
versions the MOUSes need. Pure functions of plans and tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from restorekit.evidence.gather import Evidence
from restorekit.rules import releases
from restorekit.rules.casa import Wanted, wanted_of
from restorekit.rules.findings import CODES, SEVERITY_ORDER
from restorekit.rules.plan import RestorePlan
from restorekit.rules.restorecall import rejected_by

SURVEY_COLUMNS = [
    "mous",
    "project_code",
    "ebs",
    "ousstatus_sessions",
    "calibrated_ebs",
    "restore_ebs",
    "restore_sessions",
    "restorable",
    "route",
    "worst",
    "casa_wanted",
    "pipeline_wanted",
    "casa_match",
    "fixes",
    "rejected_by_newest",
    "degraded",
]
"""The survey table's columns before one boolean column per finding code."""


def survey_codes(deep: bool) -> list[str]:
    """The finding codes a survey reports: all with ``deep``, else those the tables show."""
    return [c.name for c in CODES.values() if deep or c.from_database]


def classify(plan: RestorePlan, ev: Evidence, codes: Sequence[str]) -> dict:
    """One survey row: counts and a flag per finding code."""
    found = plan.codes
    severities: list[str] = [CODES[code].severity for code in found.intersection(codes)]
    # Without the documents, restore counts are reported only where the products alone tell
    # every calibrated EB's session; otherwise they are left empty, never guessed.
    calibrated = [r for r in plan.ebs if r.manifest_session or r.calapply]
    counts_known = ev.documents_read or all(r.manifest_session for r in calibrated)
    row = {
        "mous": plan.mous,
        "project_code": plan.project.code,
        "ebs": len(plan.ebs),
        "ousstatus_sessions": len(ev.ousstatus.sessions) if ev.ousstatus else None,
        "calibrated_ebs": len(calibrated),
        "restore_ebs": sum(len(v) for v in plan.sessions.values()) if counts_known else None,
        "restore_sessions": len(plan.sessions) if counts_known else None,
        "restorable": plan.restorable,
        "route": plan.route if ev.documents_read else None,
        "worst": min(severities, key=SEVERITY_ORDER.__getitem__) if severities else None,
    }
    wanted = plan.casa.wanted if plan.casa else wanted_of(ev) if plan.calibration_source else None
    row["casa_wanted"] = wanted.casa if wanted else None
    row["pipeline_wanted"] = wanted.pipeline if wanted else None
    row["casa_match"] = plan.casa.match if plan.casa else None
    # The data fixes need the delivered scripts: without them, unknown rather than none.
    row["fixes"] = ",".join(sorted({f.function for f in plan.fixes})) if ev.documents_read else None
    row["rejected_by_newest"] = (
        ",".join(rejected_by(ev.restore_script, releases.newest())) if ev.documents_read else None
    )
    row["degraded"] = bool(plan.degraded)
    if plan.degraded:
        # Never classified from missing evidence: counted apart (see SurveyResult.degraded).
        row.update(restorable=None, route=None, worst=None)
        found = set()
    row.update(zip(codes, map(found.__contains__, codes), strict=True))
    return row


def first_few(values: Sequence[str], render: Callable[[str], str] = str, shown: int = 3) -> str:
    """``a, b, c and 12 more``: the first ``shown`` of ``values`` as ``render`` writes them,
    and how many others."""
    more = len(values) - shown
    return ", ".join(map(render, values[:shown])) + (f" and {more:,} more" if more > 0 else "")


def not_mouses_note(values: Sequence[str], left_out_of: str = "the survey") -> str | None:
    """What to tell of ASA_SCIENCE's MEMBER_OUSS_ID values that are not MOUS uids (see
    SurveyResult.not_mouses), each quoted so that blanks and control characters show."""
    if not values:
        return None
    one = len(values) == 1
    return (
        f"{len(values):,} MEMBER_OUSS_ID value{'' if one else 's'} of ASA_SCIENCE "
        f"{'is not an MOUS uid' if one else 'are not MOUS uids'}, left out of {left_out_of} "
        f"({first_few(values, _quoted)}): no MOUS can be planned under such a name; check the "
        "archive's rows"
    )


def _quoted(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:80] + "…")


def summarize(table: pd.DataFrame, codes: Sequence[str]) -> pd.DataFrame:
    """Count and share of MOUSes per finding code, commonest first (of those classified)."""
    if "degraded" in table:
        table = table[~table["degraded"].astype(bool)]
    total = len(table)
    rows = []
    for code in codes:
        hits = table.loc[table[code], "mous"] if total else pd.Series(dtype=str)
        rows.append(
            {
                "code": code,
                "severity": CODES[code].severity,
                "mouses": len(hits),
                "share_percent": round(100 * len(hits) / total, 2) if total else 0.0,
                "meaning": CODES[code].summary,
                "example": hits.iloc[0] if len(hits) else None,
            }
        )
    summary = pd.DataFrame(rows)
    return summary.sort_values(["mouses", "code"], ascending=[False, True], ignore_index=True)


def casa_needs(table: pd.DataFrame) -> pd.DataFrame:
    """MOUSes per CASA and pipeline version that calibrated them, and how many of them the
    site's catalog restores exactly (``casa_match`` of the survey table), commonest first."""
    columns = ["casa", "pipeline", "mouses", "exact", "casa_only", "close", "none", "install"]
    known = table[table["casa_wanted"].notna()]
    if known.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    groups = known.groupby(["casa_wanted", "pipeline_wanted"], dropna=False, sort=False)
    for (casa, pipeline), group in groups:
        matches = group["casa_match"].value_counts()
        rows.append(
            {
                "casa": casa,
                "pipeline": None if pd.isna(pipeline) else pipeline,
                "mouses": len(group),
                "exact": int(matches.get("exact", 0)),
                "casa_only": int(matches.get("casa", 0)),
                "close": int(matches.get("close", 0)),
                "none": int(matches.get("none", 0)),
                "install": Wanted(casa, None if pd.isna(pipeline) else pipeline, "").install_name(),
            }
        )
    needs = pd.DataFrame(rows, columns=columns)
    return needs.sort_values(["mouses", "casa"], ascending=[False, False], ignore_index=True)


def fixes_answer(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The seed's question, "how common is this?": MOUSes whose delivery calls data fixes (the
    script route), by fix, by cycle, by the CASA and pipeline that calibrated them, and by
    project; of the MOUSes whose scripts were read (a deep survey), degraded ones apart."""
    read = _scripts_read(table)
    if read.empty:
        return {}
    with_fixes = read[read["fixes"] != ""]
    total = len(read)

    def share(n: int) -> float:
        return round(100 * n / total, 2)

    kinds = sorted({k for value in with_fixes["fixes"] for k in value.split(",")})
    by_kind = [("any data fix (route script)", len(with_fixes), share(len(with_fixes)))]
    for kind in kinds:
        n = int(with_fixes["fixes"].str.split(",").map(lambda ks, k=kind: k in ks).sum())
        by_kind.append((kind, n, share(n)))
    for code, label in (
        ("FIX_IMPORT_ONLY", "imports a fix but calls none"),
        ("RESTORE_PARAMETER_DROPPED", "restore parameters the target pipeline rejects"),
    ):
        if code in read:
            n = int(read[code].sum())
            by_kind.append((label, n, share(n)))
    n = int((read["rejected_by_newest"].fillna("") != "").sum())
    newest = releases.newest().name
    by_kind.append((f"restore parameters the newest pipeline rejects ({newest} on)", n, share(n)))
    answer = {
        "by fix": pd.DataFrame(by_kind, columns=["what", "mouses", "share_percent"]),
    }
    answer["by cycle"] = _fix_counts(read.assign(cycle=_cycle(read)), ["cycle"])
    answer["by CASA and pipeline"] = _fix_counts(read, ["casa_wanted", "pipeline_wanted"])
    projects = _fix_counts(read, ["project_code"])
    answer["by project"] = projects[projects["with_fixes"] > 0].head(50)
    return answer


FIX_GROUPS = {
    "fix": "fixes",
    "proposal cycle": "cycle",
    "CASA and pipeline": "casa_pipeline",
    "project": "project_code",
}
"""How the MOUSes with data fixes can be grouped: label -> column of :func:`fix_mouses`."""


def fix_mouses(table: pd.DataFrame) -> pd.DataFrame:
    """The MOUSes behind :func:`fixes_answer`: those whose delivery calls data fixes, imports
    one without calling it, or passes restore parameters the newest pipeline rejects."""
    columns = ["mous", "project_code", "cycle", "casa_pipeline", "fixes", "import_only",
               "rejected_by_newest"]  # fmt: skip
    read = _scripts_read(table)
    if read.empty:
        return pd.DataFrame(columns=columns)
    read = read.assign(
        import_only=read["FIX_IMPORT_ONLY"] if "FIX_IMPORT_ONLY" in read else False,
        cycle=_cycle(read),
        casa_pipeline=casa_pipeline(read),
    )
    rejected = read["rejected_by_newest"].fillna("") != ""
    chosen = read[(read["fixes"] != "") | read["import_only"] | rejected]
    return chosen[columns].reset_index(drop=True)


def casa_pipeline(frame: pd.DataFrame) -> pd.Series:
    """``CASA / pipeline`` of each row's ``casa_wanted`` and ``pipeline_wanted`` (``?``: not
    known)."""
    return frame["casa_wanted"].fillna("?") + " / " + frame["pipeline_wanted"].fillna("?")


def _scripts_read(table: pd.DataFrame) -> pd.DataFrame:
    """The MOUSes whose delivered scripts were read, degraded ones apart."""
    return table[table["fixes"].notna() & ~table["degraded"].astype(bool)]


def _cycle(frame: pd.DataFrame) -> pd.Series:
    """The proposal cycle of each row, from its project code (``2019.1.00678.S`` -> 2019.1)."""
    return frame["project_code"].fillna("").str.slice(0, 6)


def fix_group(mouses: pd.DataFrame, by: str, value: str) -> pd.DataFrame:
    """The rows of :func:`fix_mouses` in one group (``by`` a key of :data:`FIX_GROUPS`);
    for ``fix``, the MOUSes whose delivery calls that fix."""
    column = FIX_GROUPS[by]
    if column == "fixes":
        return mouses[mouses["fixes"].str.split(",").map(lambda fixes: value in fixes)]
    return mouses[mouses[column] == value]


def fix_group_counts(mouses: pd.DataFrame, by: str) -> list[tuple[str, int]]:
    """``(group, MOUSes)`` of :func:`fix_mouses` grouped ``by``, largest first."""
    column = FIX_GROUPS[by]
    if column == "fixes":
        values = pd.Series([f for v in mouses["fixes"] for f in v.split(",") if f])
    else:
        values = mouses[column]
    counts = values.value_counts()
    return sorted(((str(k), int(n)) for k, n in counts.items()), key=lambda kv: (-kv[1], kv[0]))


def _fix_counts(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    # Whole columns, no Python per group: grouped by project, an archive has a group for
    # every few MOUSes (a lambda per group took a minute on 100,000 MOUSes).
    fixed = frame["fixes"] != ""
    counted = frame[keys].assign(with_fixes=fixed.astype(int), example=frame["mous"].where(fixed))
    groups = counted.groupby(keys, dropna=False, sort=True)
    out = groups.agg(
        mouses=("with_fixes", "size"),
        with_fixes=("with_fixes", "sum"),
        example=("example", "first"),  # the first MOUS with a fix: first() skips the rest
    ).reset_index()
    out["example"] = out["example"].astype(object).where(out["example"].notna(), None)
    out["share_percent"] = (100 * out["with_fixes"] / out["mouses"]).round(2)
    columns = [*keys, "mouses", "with_fixes", "share_percent", "example"]
    return out[columns].sort_values(["with_fixes", *keys], ascending=[False] + [True] * len(keys),
                                    ignore_index=True)  # fmt: skip
