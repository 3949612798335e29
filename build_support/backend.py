"""The build backend: setuptools, asking for mypy only for the compiled build (setup.py).

An editable install is never compiled: its extension modules would shadow the sources being
edited, so ``RESTOREKIT_COMPILE=1`` with ``pip install -e`` is refused.
"""

import contextlib
import os

from setuptools import build_meta
from setuptools.build_meta import *  # noqa: F403 (the rest of the PEP 517 interface)

FLAG = "RESTOREKIT_COMPILE"
MYPY = "mypy>=1.10"


def _compiling() -> bool:
    return os.environ.get(FLAG, "") == "1"


@contextlib.contextmanager
def _pure():
    """setup.py as a pure build: asked for its requirements, it must not import mypyc yet."""
    flag = os.environ.pop(FLAG, None)
    try:
        yield
    finally:
        if flag is not None:
            os.environ[FLAG] = flag


def get_requires_for_build_wheel(config_settings=None):
    extra = [MYPY] if _compiling() else []
    with _pure():
        return build_meta.get_requires_for_build_wheel(config_settings) + extra


def _not_editable() -> None:
    if _compiling():
        raise SystemExit(
            f"restorekit: {FLAG}=1 builds a wheel (pip install .), not an editable install, "
            f"whose compiled modules would shadow the sources; unset {FLAG} for pip install -e"
        )


def get_requires_for_build_editable(config_settings=None):
    _not_editable()
    return build_meta.get_requires_for_build_editable(config_settings)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    _not_editable()
    return build_meta.build_editable(wheel_directory, config_settings, metadata_directory)
