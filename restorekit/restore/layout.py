"""The standard restore area: ``<root>/<project>/SOUS_<uid>/GOUS_<uid>/MOUS_<uid>/``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from restorekit.errors import InputError
from restorekit.rules.plan import RestorePlan
from restorekit.uids import parse_uid

SUBDIRECTORIES = ("rawdata", "working", "products")
_PROJECT_CODE = re.compile(r"[0-9]{4}\.[0-9A-Za-z]\.[0-9]{5}\.[A-Za-z]{1,4}")


@dataclass(frozen=True)
class RestoreLayout:
    root: Path
    project_code: str
    sous: str
    gous: str
    mous: str

    @classmethod
    def for_plan(cls, plan: RestorePlan, root: str | Path) -> RestoreLayout:
        """The layout of ``plan``'s MOUS under ``root``.

        Raises
        ------
        InputError
            If the project code, SOUS or GOUS is missing or is not safe as a directory name.
        """
        project = plan.project
        code = project.code
        if not code or not _PROJECT_CODE.fullmatch(code):
            raise InputError(
                f"project code {code!r} of {plan.mous} cannot name a directory; the archive "
                "should hold a code like 2017.1.01347.S in ASA_PROJECT"
            )
        for key in ("gous", "sous"):
            if not getattr(project, key):
                raise InputError(
                    f"the {key.upper()} of {plan.mous} is unknown (no parent in "
                    "OBS_UNIT_SET_STATUS and no ContainingObsUnitSetRef); cannot lay out the area"
                )
        return cls(
            Path(root).resolve(),
            code,
            parse_uid(project.sous).file,
            parse_uid(project.gous).file,
            parse_uid(plan.mous).file,
        )

    @classmethod
    def of_area(cls, mous_dir: str | Path) -> RestoreLayout:
        """The layout of an area already written: ``.../<project>/SOUS_*/GOUS_*/MOUS_*``.

        Raises
        ------
        InputError
            If ``mous_dir`` is not named as such an area.
        """
        path = Path(mous_dir).resolve()
        gous, sous, project = path.parent, path.parent.parent, path.parent.parent.parent
        prefixes = ((path, "MOUS_"), (gous, "GOUS_"), (sous, "SOUS_"))
        if not all(p.name.startswith(prefix) for p, prefix in prefixes):
            raise InputError(
                f"{str(mous_dir)!r} is not a restore area (<project>/SOUS_*/GOUS_*/MOUS_*); give "
                "the MOUS_uid___... directory restorekit prepare wrote"
            )
        return cls(project.parent, project.name, sous.name[5:], gous.name[5:], path.name[5:])

    @property
    def relative_path(self) -> str:
        """The part below the root: what the PPR's ``RelativePath`` holds."""
        return f"{self.project_code}/SOUS_{self.sous}/GOUS_{self.gous}/MOUS_{self.mous}"

    @property
    def mous_dir(self) -> Path:
        return self.root / self.relative_path

    @property
    def rawdata(self) -> Path:
        return self.mous_dir / "rawdata"

    @property
    def working(self) -> Path:
        return self.mous_dir / "working"

    @property
    def products(self) -> Path:
        return self.mous_dir / "products"

    @property
    def ppr(self) -> Path:
        return self.working / f"PPR_{self.mous}.xml"

    @property
    def restore_script(self) -> Path:
        return self.working / f"{self.mous}.restore.py"

    @property
    def logs(self) -> Path:
        """Where the pipeline's logs (SCIPIPE_LOGDIR, by default) and the job logs go."""
        return self.mous_dir / "logs"

    @property
    def run_script(self) -> Path:
        return self.working / "run_restore.sh"

    @property
    def rawdata_script(self) -> Path:
        return self.mous_dir / "export_rawdata.sh"

    @property
    def record(self) -> Path:
        return self.working / "restorekit.json"

    def create(self) -> None:
        for name in SUBDIRECTORIES:
            (self.mous_dir / name).mkdir(parents=True, exist_ok=True)

    def tree(self) -> str:
        """The area as an indented listing, for records."""
        lines = [str(self.root)]
        for depth, part in enumerate(Path(self.relative_path).parts, start=1):
            lines.append("    " * depth + part + "/")
        depth = len(Path(self.relative_path).parts) + 1
        for name in SUBDIRECTORIES:
            directory = self.mous_dir / name
            entries = sorted(directory.iterdir()) if directory.is_dir() else []
            lines.append("    " * depth + f"{name}/")
            lines += ["    " * (depth + 1) + p.name + ("/" if p.is_dir() else "") for p in entries]
        for extra in sorted(self.mous_dir.iterdir()) if self.mous_dir.is_dir() else []:
            if extra.name not in SUBDIRECTORIES:
                lines.append("    " * depth + extra.name)
        return "\n".join(lines)
