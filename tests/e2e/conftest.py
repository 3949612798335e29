"""The real CASA pipeline, for the end-to-end restore tests (``make e2e``).

Needs ``RESTOREKIT_PIPELINE_DIR``: a folder holding the pipeline's ``pipeline/`` package at tag
2024.2.0.5 (see the README). CASA 6.6.5 is installed once into a cached virtual environment
(``$RESTOREKIT_CASA_VENV``, default ``~/.cache/restorekit-e2e/casa-6.6.5``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REQUIREMENTS = HERE / "casa-requirements.txt"


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@dataclass(frozen=True)
class Casa:
    python: Path
    command: str
    """What ``$CASA`` holds: ``casa --nogui --pipeline -c FILE`` for this install."""
    runpipeline: str
    env: dict[str, str]


def _venv() -> Path:
    explicit = os.environ.get("RESTOREKIT_CASA_VENV")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "restorekit-e2e" / "casa-6.6.5"


def _install(venv: Path) -> Path:
    python = venv / "bin" / "python"
    want = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    stamp = venv / ".restorekit-requirements"
    if python.exists() and stamp.is_file() and stamp.read_text() == want:
        return python
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    stamp.write_text(want)
    return python


@pytest.fixture(scope="session")
def casa(tmp_path_factory) -> Casa:
    folder = os.environ.get("RESTOREKIT_PIPELINE_DIR")
    if not folder or not (Path(folder) / "pipeline" / "__init__.py").is_file():
        pytest.skip(
            "RESTOREKIT_PIPELINE_DIR is not a folder holding the pipeline's pipeline/ package "
            "(tag 2024.2.0.5); see 'End-to-end restores' in the README"
        )
    python = _install(_venv())
    home = tmp_path_factory.mktemp("casa-home")
    data = subprocess.run(
        [str(python), "-c", "import casadata; print(casadata.datapath)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (home / ".casa").mkdir()
    (home / ".casa" / "config.py").write_text(
        f"measurespath = {data!r}\nmeasures_auto_update = False\ndata_auto_update = False\n"
    )
    wrapper = home / "casa"
    wrapper.write_text(f'#!/bin/sh\nexec "{python}" "{HERE / "casa_shim.py"}" "$@"\n')
    wrapper.chmod(0o755)
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(Path(folder).resolve())}
    env.pop("DISPLAY", None)  # plotms without a display fails quietly; with one it may hang
    return Casa(
        python,
        str(wrapper),
        str(Path(folder).resolve() / "pipeline" / "runpipeline.py"),
        env,
    )
