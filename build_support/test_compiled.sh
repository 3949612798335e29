#!/usr/bin/env bash
# The tests on the compiled build (make test-compiled): builds the wheel that
# `RESTOREKIT_COMPILE=1 pip install .` builds, from a copy of the files git sees, puts its
# extension modules beside the copy's sources and runs pytest in the copy, whose restorekit is
# then the one imported, by the tests and (PYTHONPATH) by the commands and notebook kernels they
# start; tests/conftest.py stops the run if it is not compiled.
set -euo pipefail
cd "$(dirname "$0")/.."
python="$PWD/.venv/bin/python"
# mypyc's C needs a compiler and the interpreter's headers; as root, Debian's gcc is installed
if ! command -v gcc >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc >/dev/null
fi
include=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
if ! command -v gcc >/dev/null || [ ! -f "$include/Python.h" ]; then
    echo "restorekit: the compiled build needs a C compiler (gcc) and $include/Python.h" >&2
    exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/tree"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$work/tree"
cd "$work/tree"
echo "restorekit: compiling with mypyc (about two minutes)"
RESTOREKIT_COMPILE=1 "$python" -m pip wheel --quiet --no-deps --wheel-dir "$work/wheel" .
"$python" - "$work/wheel" <<'PY'
import sys
import zipfile
from pathlib import Path

(wheel,) = Path(sys.argv[1]).glob("*.whl")
with zipfile.ZipFile(wheel) as archive:
    for name in archive.namelist():
        if name.endswith(".so"):
            archive.extract(name)
PY
PYTHONPATH="$work/tree" RESTOREKIT_EXPECT_COMPILED=1 "$python" -m pytest "$@"
