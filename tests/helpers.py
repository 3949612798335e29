"""Build evidence straight from specs: the rules run without a database or files."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

import pytest

from restorekit.demo.documents import deliverables
from restorekit.demo.model import MousSpec
from restorekit.demo.rows import rows_for
from restorekit.errors import NgasError
from restorekit.evidence.bulk import iter_evidence
from restorekit.evidence.gather import Evidence, read_documents
from restorekit.rules.plan import RestorePlan
from restorekit.rules.reconcile import reconcile


class MemoryNgas:
    location = "memory"

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def read_bytes(self, file_id: str) -> bytes:
        if file_id not in self.files:
            raise NgasError(f"{file_id} is not in NGAS")
        return self.files[file_id]

    def stream(self, file_id, offset=0):
        data = self.read_bytes(file_id)
        return iter([data[offset:]]), len(data), True


def evidence_for(spec: MousSpec, *, documents: bool = True) -> Evidence:
    (ev,) = iter_evidence(rows_for([spec]), [spec.mous])
    if documents:
        read_documents(ev, MemoryNgas({d.name: d.render() for d in deliverables(spec)}))
    return ev


def plan_for(spec: MousSpec, *, documents: bool = True) -> RestorePlan:
    return reconcile(evidence_for(spec, documents=documents))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """``restorekit ARGS`` in a fresh interpreter, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "restorekit.frontends.cli", *args], capture_output=True, text=True
    )


def chromium_path() -> str:
    """Debian's Chromium: installed with apt when missing and root (as in CI), else a skip."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("chromium is not installed and cannot be installed here (not root, no apt)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
    done = subprocess.run(
        ["apt-get", "install", "-y", "-qq", "chromium"], env=env, capture_output=True, text=True
    )
    found = shutil.which("chromium")
    if not found:
        pytest.skip(f"chromium could not be installed: {done.stderr.strip()[-200:]}")
    return found


def free_port() -> int:
    """A TCP port nothing listens on now, on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
