"""Site settings: who and where a restore is prepared for, and how CASA is started.

Nothing site-specific is written into code: values come from a YAML file (``--settings``),
then ``RESTOREKIT_*`` environment variables, then these defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

from restorekit.errors import ConfigurationError
from restorekit.yamlsafe import load_yaml


@dataclass(frozen=True)
class SiteSettings:
    processing_site: str = "Undefined"
    operator: str = "Undefined"
    mode: str = "CSV"
    version: str = "Undefined"
    observatory: str = "ALMA Joint Observatory"
    telescope: str = "ALMA"
    casa: str = "casa"
    """The command that starts CASA with the pipeline."""
    runpipeline: str = "runpipeline.py"
    """The pipeline's PPR runner, as given to ``casa --pipeline -c``."""
    logdir: str | None = None
    """``SCIPIPE_LOGDIR``; default: ``<restore area>/logs``."""
    raw_store: str | None = None
    """A directory of raw ASDMs (``uid___A002_...``, or ``....asdm.sdm``) that ``--fetch-raw``
    copies from when ``asdmExportLight`` is not on PATH. Default: ``rawdata/`` beside a local
    NGAS directory, when there is one (the demo archive has it)."""
    pipeline_release: str | None = None
    """The pipeline release restores run with (``2024.1.0.8``); task calls are written for it.
    Default: the release that calibrated each delivery."""

    @classmethod
    def load(cls, path: str | Path | None = None) -> SiteSettings:
        """Defaults, overridden by ``RESTOREKIT_<FIELD>`` variables, then by the YAML file."""
        settings = cls()
        names = {f.name for f in fields(cls)}
        env = {
            n: os.environ[f"RESTOREKIT_{n.upper()}"]
            for n in names
            if f"RESTOREKIT_{n.upper()}" in os.environ
        }
        settings = replace(settings, **env)
        if path is None:
            return settings
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read settings file {str(path)!r} ({exc.strerror})"
            ) from None
        data = load_yaml(text, what=f"settings file {str(path)!r}") or {}
        if not isinstance(data, dict) or set(data) - names:
            unknown = sorted(set(data) - names) if isinstance(data, dict) else data
            raise ConfigurationError(
                f"settings file {str(path)!r} has unknown keys {unknown}; known keys are "
                f"{', '.join(sorted(names))}"
            )
        return replace(settings, **{k: str(v) for k, v in data.items()})
