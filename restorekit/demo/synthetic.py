"""Synthetic archives at scale: N MOUSes with realistic shapes and oddities at set rates.

Deterministic for a seed. Each MOUS has 1-6 sessions of 1-4 EBs; a few per cent of EBs
semi-pass or fail QA0; some MOUSes have missing or malformed OUSStatus XML, no calibration,
several SchedBlocks, data fixes, unexplained uncalibrated EBs, unknown EBs in the manifest or
manifest session numbers that disagree with OUSStatus.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from .model import EbSpec, MousSpec, SchedBlockSpec, SessionSpec


@dataclass(frozen=True)
class Rates:
    """Probabilities: per EB for QA0 verdicts, per MOUS for the rest."""

    semipass: float = 0.03
    fail: float = 0.02
    xml_null: float = 0.01
    xml_malformed: float = 0.005
    uncalibrated: float = 0.03
    two_schedblocks: float = 0.02
    fixes: float = 0.05
    total_power: float = 0.05
    unexplained: float = 0.005
    unknown_manifest_eb: float = 0.002
    session_shift: float = 0.003


def synthetic_specs(n: int, seed: int = 0, rates: Rates | None = None) -> Iterator[MousSpec]:
    """``n`` MOUS specs; the same ``seed`` always gives the same archive.

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
            for k in range(rng.choices(range(1, 5), weights=[45, 30, 15, 10])[0]):
                eb_serial += 1
                x = r()
                qa0 = (
                    "SemiPass"
                    if x < rates.semipass
                    else ("Fail" if x < rates.semipass + rates.fail else "Pass")
                )
                start = f"2019-{1 + s % 12:02d}-{day:02d} {k * 2:02d}:00:00.000"
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
            project_code=f"2019.1.{i // 8 % 100000:05d}.S",
            project_status=uid(-3),
            part_id=f"X{rng.getrandbits(30)}",
            sessions=sessions,
            schedblocks=sbs,
            pipeline_calibrated=r() >= rates.uncalibrated,
            fixes="casa6" if r() < rates.fixes else None,
            total_power=r() < rates.total_power,
        )
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
