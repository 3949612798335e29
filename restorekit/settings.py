"""Site settings: who and where a restore is prepared for, and how CASA is started.

Nothing site-specific is written into code: values come from a YAML file (``--settings``),
then ``RESTOREKIT_*`` environment variables, then these defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from restorekit.errors import ConfigurationError
from restorekit.yamlsafe import load_yaml


def _setting(default: str | None, meaning: str):
    return field(default=default, metadata={"meaning": meaning})


@dataclass(frozen=True)
class SiteSettings:
    """Who and where a restore is prepared for, and how CASA is started (see
    :mod:`restorekit.config` for every setting with its meaning)."""

    processing_site: str = _setting("Undefined", "PPR ProcessingSite")
    operator: str = _setting("Undefined", "PPR Operator")
    mode: str = _setting("CSV", "PPR Mode")
    version: str = _setting("Undefined", "PPR Version")
    observatory: str = _setting("ALMA Joint Observatory", "PPR Observatory")
    telescope: str = _setting("ALMA", "PPR Telescope")
    casa: str = _setting("casa", "the command line that starts CASA with the pipeline")
    runpipeline: str = _setting(
        "runpipeline.py", "the pipeline's PPR runner, as given to casa --pipeline -c"
    )
    logdir: str | None = _setting(None, "SCIPIPE_LOGDIR; default: <restore area>/logs")
    raw_store: str | None = _setting(
        None,
        "a directory of raw ASDMs --fetch-raw copies from when asdmExportLight is absent; "
        "default: rawdata/ beside a local NGAS directory",
    )
    pipeline_release: str | None = _setting(
        None,
        "the pipeline release restores run with (e.g. 2024.1.0.8); default: the release that "
        "calibrated each delivery",
    )

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
