from __future__ import annotations

import os
from pathlib import Path

import pytest

from restorekit.demo import DemoArchive, demo_archive

SHARED_REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests build the demo archive into their own cache, never the user's."""
    os.environ["RESTOREKIT_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    for name in ("RESTOREKIT_DB", "RESTOREKIT_DB_PASSWORD", "RESTOREKIT_NGAS"):
        os.environ.pop(name, None)


@pytest.fixture(scope="session")
def demo(_isolated_cache: None) -> DemoArchive:
    return demo_archive()


@pytest.fixture(scope="session")
def engine(demo: DemoArchive):
    from restorekit.sources.archive import connect

    return connect(demo.url)
