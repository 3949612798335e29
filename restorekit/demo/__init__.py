"""The embedded demo archive: the seed's MOUSes and one MOUS per oddity a restore meets."""

from .builder import DemoArchive, build_archive, demo_archive
from .fixtures import DEMO_MOUS, DEMO_SPECS, SEED_MOUS

__all__ = ["DEMO_MOUS", "DEMO_SPECS", "SEED_MOUS", "DemoArchive", "build_archive", "demo_archive"]
