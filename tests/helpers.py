"""Build evidence straight from specs: the rules run without a database or files."""

from __future__ import annotations

import subprocess
import sys

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
