"""The restore record as a scientist opens and prints it: Debian's Chromium driven by
Playwright, with every request that would leave the machine refused and counted."""

from __future__ import annotations

import io
import re
import unicodedata
from pathlib import Path

import pytest

from restorekit.frontends.batch import run_batch

from .helpers import chromium_path

ROOT = Path(__file__).resolve().parents[1]
RESTORE = ROOT / "notebooks" / "restore_mous.ipynb"
RECORDS = {
    "seed": "uid://A001/X12a3/X80e",
    "uncalibrated": "uid://A001/X1296/X7c1",  # not restorable: nothing to restore
}
A4_CSS_WIDTH = 718  # 210 mm less 2 x 12 mm margins, at 96 px per inch


@pytest.fixture(scope="module")
def records(tmp_path_factory, demo):
    tmp = tmp_path_factory.mktemp("records")
    files = []
    for name, mous in RECORDS.items():
        path = tmp / f"{name}.yaml"
        path.write_text(f"mous_uid: {mous}\n")
        files.append(str(path))
    summary = run_batch(RESTORE, files, records=tmp / "records", progress=False, root=tmp / "a")
    assert (summary.status == "ok").all(), summary.error.tolist()
    return {row.mous: Path(row.html) for row in summary.itertuples()}


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    binary = Path("/usr/lib/chromium/chromium")  # Debian's wrapper script starts this
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(binary if binary.exists() else executable),
            args=["--no-sandbox", "--disable-gpu"],
        )
        yield launched
        launched.close()


def _open(browser, html: Path, width: int = 1024):
    """The record in a page that refuses (and counts) every request but the file itself."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    refused: list[str] = []

    def route(request_route):
        url = request_route.request.url
        if url.startswith("file://") or url.startswith("data:"):
            request_route.continue_()
        else:
            refused.append(url)
            request_route.abort()

    page.route("**/*", route)
    page.goto(html.as_uri())
    page.wait_for_load_state("load")
    return page, refused


OVERFLOW = """() => [...document.querySelectorAll('table')].filter(t =>
    t.scrollWidth > t.parentElement.clientWidth + 1
    || t.getBoundingClientRect().right > document.documentElement.clientWidth + 1
).map(t => t.innerText.slice(0, 60))"""


@pytest.mark.parametrize("mous", RECORDS.values())
def test_the_record_shows_every_column_at_1024_px_and_asks_no_network(browser, records, mous):
    page, refused = _open(browser, records[mous])
    assert page.evaluate(OVERFLOW) == []
    assert refused == []
    fonts = page.evaluate(
        "() => [...document.querySelectorAll('pre.rk-code')]"
        ".map(p => getComputedStyle(p).fontFamily)"
    )
    assert fonts and all("mono" in f.lower() for f in fonts), fonts
    # No raw Python values outside the code blocks.
    text = page.evaluate(
        """() => { const body = document.body.cloneNode(true);
        body.querySelectorAll('pre').forEach(p => p.remove()); return body.innerText; }"""
    )
    for raw in (r"\bNone\b", r"\bTrue\b", r"\bFalse\b", r"\bnan\b", r"\{'", r"\['"):
        assert not re.search(raw, text), (raw, re.search(raw, text))
    page.close()


def test_the_summary_card_says_the_right_thing(browser, records):
    page, _ = _open(browser, records[RECORDS["seed"]])
    card = page.inner_text(".rk-card")
    assert card.startswith(f"MOUS {RECORDS['seed']}: restorable")
    for needle in ("restorable\tyes", "route\tscript", "preflight\tpasses", "CASA to use\tnone"):
        assert needle in card.replace("\n", "\t"), (needle, card)
    assert "2 warnings, 4 info" in card
    provenance = page.inner_text("body").split("provenance", 1)[-1]
    for needle in ("parameter mous_uid", "run by", "restorekit revision", "started", "finished",
                   "database", "the embedded demo archive"):  # fmt: skip
        assert needle in provenance, needle
    # The card is the record's first output: before any section.
    assert page.evaluate(
        "() => document.querySelector('.rk-card').getBoundingClientRect().top"
    ) < page.evaluate("() => [...document.querySelectorAll('h2')][0].getBoundingClientRect().top")
    page.close()
    page, _ = _open(browser, records[RECORDS["uncalibrated"]])
    card = page.inner_text(".rk-card").replace("\n", "\t")
    assert "NOT restorable" in card and "no — the MOUS has no calibration products" in card
    assert "route" not in card and "ppr" not in card
    assert "preflight\tnot run: " in card
    assert page.query_selector(".rk-card-no") is not None
    # Its EBs are left out by the MOUS's error: coloured as errors, as the legend says.
    assert page.query_selector_all("table tr.rk-row-error")
    page.close()


@pytest.mark.parametrize("mous", RECORDS.values())
def test_printed_on_a4_no_column_is_lost(browser, records, mous):
    pypdf = pytest.importorskip("pypdf")
    page, refused = _open(browser, records[mous], width=A4_CSS_WIDTH)
    page.emulate_media(media="print")
    assert page.evaluate(OVERFLOW) == []
    headers = page.evaluate(
        "() => [...document.querySelectorAll('table.rk-table th')].map(th => th.innerText)"
    )
    pdf = page.pdf(format="A4", print_background=True)
    assert refused == []
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    squeezed = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))  # ligatures: fi, fl
    missing = [h for h in headers if re.sub(r"\s+", "", h) not in squeezed]
    assert not missing, missing
    page.close()
