"""The restore notebook as a scientist uses it: a real JupyterLab, driven by Playwright with
Debian's Chromium. Open the notebook, run all, filter the sessions, inspect two other MOUSes
(each view replacing the last), and prepare one from the widgets. Slow (about a minute)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .helpers import chromium_path, free_port

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "restorekit-test"


@pytest.fixture
def lab(tmp_path, demo):
    pytest.importorskip("jupyterlab", reason="JupyterLab is in the test extra")
    shutil.copy(ROOT / "notebooks" / "restore_mous.ipynb", tmp_path)
    port = free_port()
    # Every cell in the DOM (JupyterLab 4 otherwise leaves out cells scrolled away), no news.
    settings = tmp_path / "lab-settings" / "@jupyterlab"
    (settings / "notebook-extension").mkdir(parents=True)
    (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        '{"windowingMode": "none"}'
    )
    (settings / "apputils-extension").mkdir()
    (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}'
    )
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
        f"--port={port}", f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={tmp_path}",
        f"--LabApp.user_settings_dir={tmp_path / 'lab-settings'}",
        f"--LabApp.workspaces_dir={tmp_path / 'lab-workspaces'}",
    ]  # fmt: skip
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(command, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"JupyterLab did not start: {(tmp_path / 'lab.log').read_text()[-500:]}")
        yield url, tmp_path
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_a_scientist_explores_inspects_and_prepares_in_jupyterlab(lab):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    expect.set_options(timeout=120_000)  # a run-all and each inspection take seconds
    url, folder = lab
    binary = Path("/usr/lib/chromium/chromium")
    executable = str(binary) if binary.exists() else chromium_path()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(120_000)
        page.goto(f"{url}/lab/tree/restore_mous.ipynb?token={TOKEN}")
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
        # Only once its kernel is idle does the notebook take "Run All Cells".
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()
        page.locator(".jp-NotebookPanel .jp-Cell").first.click()
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_text("Run All Cells", exact=True).click()

        # The session filter: the explorer's table is the record's (same colours), filtered.
        explorer = page.locator(".rk-explorer").first
        rows = explorer.locator("table.rk-table tbody tr")
        expect(rows).to_have_count(2)
        expect(explorer.locator("table.rk-table th").first).to_have_text("eb")
        explorer.locator("select").select_option("session_2")
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_class("rk-row-restore")
        expect(rows.first).to_contain_text("uid://A002/Xcf92df/X3453")

        # Inspect another MOUS, then a third: one view at a time, labelled with its MOUS.
        picker = page.locator(".rk-picker").first
        cards = picker.locator(".rk-picked .rk-card")
        for mous in ("uid://A001/X133d/X5e1", "uid://A001/X1301/X1a6"):
            picker.locator("input").fill(mous)
            picker.get_by_role("button", name="Inspect").click()
            expect(cards).to_have_count(1)
            expect(cards.first).to_contain_text(f"MOUS {mous}: restorable")
        assert picker.locator(".rk-picked .rk-picker").count() == 0  # no picker nested
        expect(picker.locator(".rk-picked")).to_contain_text(str(folder / "restore-area"))

        # Prepare it from the widgets: the area is written and passes its preflight.
        picker.get_by_role("button", name="Prepare uid://A001/X1301/X1a6").click()
        expect(cards).to_have_count(2)
        expect(cards.last).to_contain_text("passes")
        page.screenshot(path=str(folder / "lab.png"))
        browser.close()
    written = list((folder / "restore-area").glob("*/*/*/MOUS_uid___A001_X1301_X1a6/working/PPR_*"))
    assert len(written) == 1
