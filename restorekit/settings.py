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


def _collection(kind: type, meaning: str, item: type = str):
    return field(default_factory=kind, metadata={"meaning": meaning, "kind": kind, "item": item})


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
    casa: str = _setting(
        "casa",
        "the command line that starts CASA with the pipeline; it joins the CASA catalog, "
        "identified by its directory's name or by asking it",
    )
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
        "the pipeline release restores run with (e.g. 2024.1.0.8); default: the release of the "
        "CASA chosen for each delivery, else the one that calibrated it",
    )
    casa_installs: tuple[str, ...] = _collection(
        tuple,
        "CASA installs (directories with bin/casa, or glob patterns; the variable separates "
        f"them with {os.pathsep!r}), identified by name (casa-6.5.4-9-pipeline-2023.1.0.124) "
        "or by asking bin/casa --version once",
    )
    casa_versions: dict[str, str] = _collection(
        dict,
        "CASA version (6.5.4-9) or version pair (6.5.4-9-pipeline-2023.1.0.124) -> command, "
        "e.g. a container command; the variable is a YAML mapping",
    )

    dask_clusters: dict[str, dict] = _collection(
        dict,
        "named Dask clusters for restorekit run --cluster NAME: name -> {class: SLURMCluster "
        "(or another dask-jobqueue class), workers: N, and the class's options}",
        item=dict,
    )
    job_partition: str | None = _setting(None, "the Slurm partition restore jobs run in")
    job_time: str | None = _setting(None, "the time limit of a restore job (Slurm's 24:00:00)")
    job_memory: str | None = _setting(None, "the memory of a restore job (16G)")
    job_cores: str | None = _setting(None, "the cores of a restore job")

    @classmethod
    def load(cls, path: str | Path | None = None) -> SiteSettings:
        """Defaults, overridden by ``RESTOREKIT_<FIELD>`` variables, then by the YAML file."""
        settings = cls()
        names = {f.name for f in fields(cls)}
        env = {
            n: _value(n, os.environ[f"RESTOREKIT_{n.upper()}"], f"RESTOREKIT_{n.upper()}")
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
        if not isinstance(data, dict):
            raise ConfigurationError(
                f"settings file {str(path)!r} holds "
                + ("a list" if isinstance(data, list) else f"the single value {data!r}")
                + ", not settings; write one 'key: value' per line"
            )
        if set(data) - names:
            raise ConfigurationError(
                f"settings file {str(path)!r} has unknown keys {sorted(set(data) - names)}; "
                f"known keys are {', '.join(sorted(names))}"
            )
        where = f"settings file {str(path)!r}"
        return replace(settings, **{k: _value(k, v, where) for k, v in data.items()})


def _value(name: str, value: object, where: str):
    """A setting's value from YAML or the environment, as its field holds it."""
    meta = {f.name: f.metadata for f in fields(SiteSettings)}[name]
    kind, item = meta.get("kind"), meta.get("item", str)
    if kind is tuple:
        if isinstance(value, str) and where.startswith("RESTOREKIT"):
            items = [v for v in value.split(os.pathsep) if v]
        elif isinstance(value, str):
            items = [value]
        elif isinstance(value, list):
            items = value
        else:
            raise ConfigurationError(f"{where}: {name} must be a list of paths, not {value!r}")
        return tuple(str(v) for v in items)
    if kind is dict:
        if isinstance(value, str):
            value = load_yaml(value, what=where)
        if not isinstance(value, dict) or not all(
            isinstance(k, str | int | float) and isinstance(v, item) for k, v in value.items()
        ):
            if item is dict:
                raise ConfigurationError(
                    f"{where}: {name} must map names to cluster settings, e.g. "
                    "{'slurm': {'class': 'SLURMCluster', 'workers': 4, 'cores': 8}}; got "
                    f"{value!r}"
                )
            raise ConfigurationError(
                f"{where}: {name} must map CASA versions to commands, e.g. "
                "{'6.5.4-9': 'apptainer exec /images/casa-6.5.4.sif casa'}; got "
                f"{value!r}"
            )
        return {str(k): v for k, v in value.items()}
    if (
        name == "job_cores"
        and value is not None
        and not (str(value).isdigit() and int(str(value)) >= 1)
    ):
        raise ConfigurationError(
            f"{where}: job_cores {value!r} must be a whole number of at least 1"
        )
    return None if value is None else str(value)
