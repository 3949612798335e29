"""The survey report: how common each finding is, as tables and a static chart."""

from __future__ import annotations

import pandas as pd

from restorekit.frontends.display import (
    RESULT_MIME,
    display_object,
    install_error_display,
    note,
    show,
)
from restorekit.rules.findings import CODES


def survey_report(
    db: str | None = None,
    *,
    schema: str | None = None,
    mous_file: str | None = None,
    deep: bool = False,
    ngas: str | None = None,
    out_csv: str | None = None,
    top: int = 20,
    settings: str | None = None,
    cache: str | None = None,
    jobs: int = 32,
    interactive: bool = False,
) -> dict:
    """The survey notebook's body: the data fixes first (the seed's question: tables, a chart,
    the MOUSes behind them, and with ``interactive`` an explorer), then how common each finding
    is, MOUSes per finding, the CASA versions needed and what the site's installs (from
    ``settings``) restore; returns the summary."""
    from restorekit.archive_survey import survey_of
    from restorekit.fsutil import atomic_write, output_file
    from restorekit.settings import SiteSettings
    from restorekit.sources.casa_installs import read_catalog
    from restorekit.survey_table import casa_needs

    install_error_display()
    out = output_file(out_csv, what="out_csv") if out_csv else None
    catalog = read_catalog(SiteSettings.load(settings))
    result = survey_of(
        db,
        schema=schema,
        mous_file=mous_file,
        deep=deep,
        ngas=ngas,
        casa=catalog.installs,
        cache=cache,
        jobs=jobs,
    )
    note(
        f"{len(result.table):,} MOUSes of {result.archive} surveyed in "
        f"{result.seconds:.2f} s with {result.round_trips} round trips "
        f"({'manifests and scripts read' if deep else 'archive tables only'})."
    )
    # What was not classified is said before any share that leaves it out.
    for line in result.unclassified():
        note(line)
    _fixes_section(result.table, top, interactive)
    if not deep:
        needs_documents = sorted(c for c, code in CODES.items() if not code.from_database)
        note(
            "Archive tables only: the columns route, and restore_ebs and restore_sessions "
            "where the product names alone cannot tell each EB's session, are left empty, and "
            f"these findings are not looked for: {', '.join(needs_documents)}. Run with "
            "deep=True to read the manifests and scripts."
        )
    show(result.summary, caption="how common is each finding")
    _chart(result.summary)
    per_code = [
        (code, len(ms), ", ".join(ms[:top]) + (" …" if len(ms) > top else ""))
        for code in result.summary.code
        if (ms := result.mouses_with(code))
    ]
    show(
        pd.DataFrame(per_code, columns=["code", "MOUSes", "which (first ones)"]),
        caption="MOUSes per finding",
    )
    _casa_section(result.table, catalog)
    show(result.table.head(top), caption=f"per-MOUS table (first {top} rows)")
    if out is not None:
        atomic_write(out, result.table.to_csv(index=False))
        note(f"per-MOUS table written to {out}")
    summary = {
        "mouses": len(result.table),
        "round_trips": result.round_trips,
        "counts": dict(zip(result.summary.code, map(int, result.summary.mouses), strict=True)),
        "casa_needs": casa_needs(result.table).to_dict(orient="records"),
    }
    display_object({RESULT_MIME: summary, "text/plain": repr(summary)}, raw=True)
    return summary


def _fixes_section(table: pd.DataFrame, top: int, interactive: bool) -> None:
    """The seed's question first: how common are the data fixes that need the script route."""
    from restorekit.survey_table import fix_mouses, fixes_answer

    answer = fixes_answer(table)
    if not answer:
        note(
            "How common are data fixes (the SACM/JAO calls that need the script route)? They "
            "live in the delivered scripts: run with deep=True to read them and answer."
        )
        return
    note(
        "How common are data fixes? Of the MOUSes whose delivered scripts were read, these "
        "call fixes a PPR cannot express (the script route):"
    )
    for title, frame in answer.items():
        show(frame, caption=f"data fixes {title}")
        if title == "by fix":
            _fixes_chart(answer)
    mouses = fix_mouses(table)
    more = f" (first {top} of {len(mouses):,}; all in out_csv)" if len(mouses) > top else ""
    show(mouses.head(top), caption=f"the MOUSes behind these counts{more}")
    if interactive and not mouses.empty:
        from restorekit.frontends.widgets import fixes_explorer

        fixes_explorer(mouses)


def _casa_section(table: pd.DataFrame, catalog) -> None:
    from restorekit.frontends.render import catalog_table
    from restorekit.survey_table import casa_needs

    needs = casa_needs(table)
    note(
        f"The site's CASA catalog has {len(catalog)} installs. Each MOUS needs the CASA and "
        "pipeline that calibrated it (from its manifest; without the manifests, from the "
        "release in operation when it was observed); 'exact' counts the MOUSes an install "
        "restores as calibrated, 'install' names the release tarball to add for the others."
    )
    show(needs, caption="CASA versions needed, and what the site's installs restore")
    if len(catalog):
        show(catalog_table(catalog), caption="the site's CASA installs")
    for problem in catalog.problems:
        note(problem)


def _figure(height: float, panels: int = 1):
    # An explicit Agg canvas: the user's kernel keeps its own matplotlib backend.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8 if panels == 1 else 11, height))
    FigureCanvasAgg(fig)
    return fig, fig.subplots(1, panels)


def _show_figure(fig) -> None:
    from io import BytesIO

    from IPython.display import Image

    fig.tight_layout()
    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    display_object(Image(data=buffer.getvalue(), format="png"))


def _fixes_chart(answer: dict[str, pd.DataFrame]) -> None:
    """Share of MOUSes needing the script route per proposal cycle, and per CASA/pipeline."""
    from restorekit.survey_table import casa_pipeline

    cycles = answer["by cycle"].sort_values("cycle")
    casa = answer["by CASA and pipeline"].dropna(subset=["casa_wanted"])
    casa = casa.assign(label=casa_pipeline(casa)).sort_values("share_percent")
    fig, (left, right) = _figure(0.3 * max(len(cycles), len(casa)) + 1.6, panels=2)
    left.barh(cycles["cycle"].replace("", "?"), cycles["share_percent"], color="#c0392b")
    left.set_xlabel("MOUSes with data fixes (%; their number at each bar)")
    left.set_title("by proposal cycle")
    right.barh(casa["label"], casa["share_percent"], color="#c0392b")
    right.set_xlabel("MOUSes with data fixes (%; their number at each bar)")
    right.set_title("by the CASA / pipeline that calibrated them")
    for ax, frame in ((left, cycles), (right, casa)):
        for y, (n, share) in enumerate(zip(frame["with_fixes"], frame["share_percent"],
                                            strict=True)):  # fmt: skip
            ax.annotate(f" {n:,}", (share, y), va="center", fontsize=8)
    _show_figure(fig)


def _chart(summary: pd.DataFrame) -> None:
    found = summary[summary.mouses > 0].sort_values("share_percent")
    if found.empty:
        note("No finding occurs.")
        return
    colours = {"error": "#c0392b", "warning": "#e0a800", "info": "#2f6fb2"}
    fig, ax = _figure(0.35 * len(found) + 1)
    ax.barh(found.code, found.share_percent, color=[colours[s] for s in found.severity])
    ax.set_xlabel("share of MOUSes (%)")
    ax.set_title("How common is each finding")
    _show_figure(fig)
