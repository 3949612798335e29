"""Synthetic archives at scale: N MOUSes with realistic shapes and oddities at set rates.

Deterministic for a seed. Each MOUS belongs to an ALMA cycle (3 to 11, later cycles more
common), observed in that cycle's year and calibrated by the ALMA pipeline release in operation
then (the pipeline's release notes, :func:`restorekit.rules.casa.alma_release_on`), so its
delivery has that era's shape: before Cycle 5 no ``member.`` prefix and a ``calimage``
manifest, until Cycle 4 ``hif_restoredata``, before August 2018 a manifest without
versions, CASA 5 or 6 imports of the SACM/JAO fixes. Each has 1-6 sessions of 1-4 EBs; a few
per cent of EBs semi-pass or fail QA0; some MOUSes have missing or malformed OUSStatus XML, no
calibration, several SchedBlocks, data fixes (``fixsyscaltimes``, with ``fixplanets``, called
in both scripts, in the pipescript only or imported only), extra restore parameters, unexplained
uncalibrated EBs, unknown EBs in the manifest or manifest session numbers that disagree with
OUSStatus.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from dataclasses import dataclass

from restorekit.errors import InputError
from restorekit.rules.casa import alma_release_on

from .model import EbSpec, MousSpec, Qa0, SchedBlockSpec, SessionSpec


@dataclass(frozen=True)
class Rates:
    """Probabilities: per EB for QA0 verdicts, per MOUS for the rest; the ``fix_*`` and
    ``fixplanets`` rates are shares of the MOUSes with fixes."""

    semipass: float = 0.03
    fail: float = 0.02
    xml_null: float = 0.01
    xml_malformed: float = 0.005
    uncalibrated: float = 0.03
    two_schedblocks: float = 0.02
    fixes: float = 0.05
    fixplanets: float = 0.2
    fix_pipescript_only: float = 0.4
    fix_import_only: float = 0.1
    extra_parameters: float = 0.04
    total_power: float = 0.05
    unexplained: float = 0.005
    unknown_manifest_eb: float = 0.002
    session_shift: float = 0.003


def parse_rates(items: list[str] | None) -> Rates:
    """``Rates`` with ``NAME=P`` items applied (the CLI's ``--rate``), each checked."""
    names = [f.name for f in dataclasses.fields(Rates)]
    changes: dict[str, float] = {}
    for item in items or []:
        name, _, value = item.partition("=")
        if name not in names:
            raise InputError(f"--rate {item!r}: no rate {name!r}; rates are {', '.join(names)}")
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if not 0.0 <= rate <= 1.0:
            raise InputError(f"--rate {item!r}: write a probability from 0 to 1, e.g. {name}=0.1")
        changes[name] = rate
    return dataclasses.replace(Rates(), **changes)


CYCLES = range(3, 12)
CYCLE_WEIGHTS = [4, 6, 8, 10, 12, 14, 14, 16, 16]
RESTORE_EXTRAS = {
    "bdfflags": True,
    "asis": "SBSummary ExecBlock Antenna Station Receiver Source CalAtmosphere CalWVR",
    "pipelinemode": "automatic",
}


@dataclass(frozen=True)
class Era:
    """How a cycle's deliveries look: when observed, and what the pipeline wrote."""

    code_year: int
    casa: str
    pipeline: str
    versions: bool
    prefix: str
    manifest_infix: str
    restore_task: str | None

    @property
    def casa6(self) -> bool:
        return not self.casa.startswith(("4.", "5."))


def era(cycle: int) -> Era:
    """Cycle ``cycle``'s proposal year (2015.1 is Cycle 3, 2021.1 Cycle 8: no 2020 call) and
    its deliveries' shape, from the ALMA release in operation in its first month."""
    code_year = 2012 + cycle if cycle <= 7 else 2013 + cycle
    release = alma_release_on(f"{code_year}-10")
    assert release is not None  # the notes begin with Cycle 2
    if release.pipeline.startswith("r"):
        branch = f" ({release.branch})" if release.branch else ""
        pipeline = f"{release.pipeline[1:]}M{branch}"
        casa = release.casa
    else:
        pipeline, casa = release.pipeline, release.casa.replace("-", ".")
    return Era(
        code_year=code_year,
        casa=casa,
        pipeline=pipeline,
        versions=f"{code_year}-10" >= "2018-08",
        prefix="member." if cycle >= 5 else "",
        manifest_infix="hifa_calimage" if cycle >= 5 else "calimage",
        restore_task="hif_restoredata" if cycle <= 4 else None,
    )


ERAS = {cycle: era(cycle) for cycle in CYCLES}


def synthetic_specs(n: int, seed: int = 0, rates: Rates | None = None) -> Iterator[MousSpec]:
    """``n`` MOUS specs; the same ``seed`` (and ``rates``) always gives the same archive.

    One function on purpose: the random draws happen in a fixed order, so that a seed keeps
    giving the same archive; moving draws into helpers would make that order easy to break.
    """
    rates = rates or Rates()
    rng = random.Random(seed)
    r = rng.random
    eb_serial = 0
    for i in range(n):
        base = 0x10000 + 16 * i
        block = f"A001/X{0x2000 + i // 4096:x}"

        def uid(offset: int, block: str = block, base: int = base) -> str:
            return f"uid://{block}/X{base + offset:x}"

        cycle = rng.choices(CYCLES, weights=CYCLE_WEIGHTS)[0]
        shape = ERAS[cycle]
        project = f"uid://A001/X1f{i // 8:x}/X{0x100 + i % 8:x}"
        sbs = [SchedBlockSpec(uid(8), uid(9), "FullyObserved", f"target_{i}_a_06_TM1")]
        if r() < rates.two_schedblocks:
            sbs.insert(
                0,
                SchedBlockSpec(
                    uid(10), uid(11), rng.choice(["Deleted", "Broken"]), f"target_{i}_b_06_TM1"
                ),
            )
        sessions = []
        day = 1 + i % 28
        for s in range(rng.choices(range(1, 7), weights=[30, 25, 18, 12, 9, 6])[0]):
            ebs = []
            # Sessions from October of the proposal year on, a month apart.
            year, month = shape.code_year + (9 + s) // 12, 1 + (9 + s) % 12
            for k in range(rng.choices(range(1, 5), weights=[45, 30, 15, 10])[0]):
                eb_serial += 1
                x = r()
                qa0: Qa0 = (
                    "SemiPass"
                    if x < rates.semipass
                    else ("Fail" if x < rates.semipass + rates.fail else "Pass")
                )
                start = f"{year}-{month:02d}-{day:02d} {k * 2:02d}:00:00.000"
                ebs.append(
                    EbSpec(
                        f"uid://A002/X{0xE00000 + eb_serial // 4096:x}/"
                        f"X{eb_serial % 4096 + 0x100:x}",
                        qa0,
                        start,
                        start[:11] + f"{k * 2 + 1:02d}:00:00.000",
                        schedblock=len(sbs) - 1 if len(sbs) == 1 or k else 0,
                    )
                )
            sessions.append(SessionSpec(ebs, f"X{s:08d}"))
        spec = MousSpec(
            mous=uid(0),
            gous=uid(-1),
            sous=uid(-2),
            project_uid=project,
            project_code=f"{shape.code_year}.1.{i // 8 % 100000:05d}.S",
            project_status=uid(-3),
            part_id=f"X{rng.getrandbits(30)}",
            sessions=sessions,
            schedblocks=sbs,
            pipeline_calibrated=r() >= rates.uncalibrated,
            total_power=r() < rates.total_power and cycle >= 5,
            archive_prefix=shape.prefix,
            manifest_infix=shape.manifest_infix,
            manifest_versions=shape.versions,
            restore_task=shape.restore_task,
            casa_version=shape.casa,
            pipeline_version=shape.pipeline,
        )
        if r() < rates.fixes:
            spec.fixes = "casa6" if shape.casa6 else "casa5"
            x = r()
            if x < rates.fix_import_only:
                spec.fix_calls = "none"
            elif x < rates.fix_import_only + rates.fix_pipescript_only:
                spec.fix_calls = "pipescript"
            if r() < rates.fixplanets:
                spec.planet_fields = [str(rng.choice([0, 2, 3]))]
        if r() < rates.extra_parameters and not spec.total_power and 6 <= cycle <= 9:
            spec.restore_keywords = dict(RESTORE_EXTRAS)
        x = r()
        if x < rates.xml_null:
            spec.xml = "null"
        elif x < rates.xml_null + rates.xml_malformed:
            spec.xml = "malformed"
        if r() < rates.unexplained:
            passing = [eb for s in sessions for eb in s.ebs if eb.qa0 == "Pass"]
            if len(passing) > 1:
                passing[0].calibrated = False
        if r() < rates.unknown_manifest_eb:
            spec.unknown_manifest_ebs = {1: [f"uid://A002/Xdead/X{i:x}"]}
        if r() < rates.session_shift:
            spec.manifest_session_shift = 1
        yield spec
