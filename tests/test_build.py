"""The optional compiled build: the build backend's choices and how restorekit reports its build."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tarfile
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from restorekit import compiled

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch):
    spec = importlib.util.spec_from_file_location("backend", ROOT / "build_support" / "backend.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    seen = []

    def requires(config_settings=None):
        seen.append(os.environ.get("RESTOREKIT_COMPILE"))  # what setup.py would see
        return ["wheel"]

    monkeypatch.setattr(module.build_meta, "get_requires_for_build_wheel", requires)
    monkeypatch.setattr(module.build_meta, "get_requires_for_build_editable", requires)
    module.seen = seen
    return module


def test_a_pure_build_asks_for_setuptools_only(backend, monkeypatch):
    monkeypatch.delenv("RESTOREKIT_COMPILE", raising=False)
    assert backend.get_requires_for_build_wheel() == ["wheel"]
    assert backend.get_requires_for_build_editable() == ["wheel"]


def test_the_compiled_build_asks_for_mypy_before_setup_py_imports_it(backend, monkeypatch):
    monkeypatch.setenv("RESTOREKIT_COMPILE", "1")
    assert backend.get_requires_for_build_wheel() == ["wheel", "mypy>=1.10"]
    # setup.py ran as a pure build (mypy is not installed yet), and the flag is back after
    assert backend.seen == [None]
    assert os.environ["RESTOREKIT_COMPILE"] == "1"


def test_an_editable_install_is_never_compiled(backend, monkeypatch):
    monkeypatch.setenv("RESTOREKIT_COMPILE", "1")
    with pytest.raises(SystemExit, match="not an editable install") as raised:
        backend.build_editable("/nonexistent")
    assert "\n" not in str(raised.value)
    with pytest.raises(SystemExit, match="unset RESTOREKIT_COMPILE for pip install -e"):
        backend.get_requires_for_build_editable()


def test_setup_py_compiles_existing_modules_only_when_asked(monkeypatch):
    spec = importlib.util.spec_from_file_location("restorekit_setup", ROOT / "setup.py")
    setup = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(setup)  # not as __main__: setup() is not called
    monkeypatch.delenv("RESTOREKIT_COMPILE", raising=False)
    assert setup.extensions() == []
    missing = [path for path in setup.COMPILED if not (ROOT / path).is_file()]
    assert not missing, f"setup.py compiles modules that do not exist: {missing}"


def test_compiled_modules_are_named_from_their_extension_files(tmp_path, monkeypatch):
    package = tmp_path / "restorekit"
    (package / "rules").mkdir(parents=True)
    (package / "rules" / f"reconcile{EXTENSION_SUFFIXES[0]}").touch()
    (package / "rules" / "reconcile.py").touch()
    (package / f"uids{EXTENSION_SUFFIXES[0]}").touch()
    (package / "data").mkdir()
    (package / "data" / "notes.txt").touch()
    monkeypatch.setattr(compiled, "PACKAGE", package)
    assert compiled.compiled_modules() == ["restorekit.rules.reconcile", "restorekit.uids"]
    assert compiled.build_name() == "compiled (2 modules, mypyc)"
    monkeypatch.setattr(compiled, "PACKAGE", tmp_path / "empty")
    assert compiled.build_name() == "pure Python"


def test_version_names_the_build():
    shown = subprocess.run(
        [sys.executable, "-c", "from restorekit.frontends.cli import main; main(['--version'])"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == f"restorekit 0.1.0, {compiled.build_name()}\n"


@pytest.mark.slow
def test_the_sdist_carries_the_build_backend_and_builds_a_wheel(tmp_path):
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (the copy make test-compiled runs in)")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    tree = tmp_path / "tree"  # a copy: the build writes nothing into the checkout
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            (tree / name).write_bytes((ROOT / name).read_bytes())
    dist = tmp_path / "dist"
    # sdist, then the wheel from the sdist, as `python -m build` does for a release
    built = subprocess.run(
        [sys.executable, "-m", "build", "-o", str(dist), str(tree)],
        capture_output=True,
        text=True,
        env={**os.environ, "RESTOREKIT_COMPILE": ""},
    )
    assert built.returncode == 0, (built.stdout + built.stderr)[-3000:]
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[-1] for name in archive.getnames()}
    assert {"pyproject.toml", "setup.py", "build_support/backend.py"} <= names
    assert [w.name for w in dist.glob("*.whl")] == ["restorekit-0.1.0-py3-none-any.whl"]
