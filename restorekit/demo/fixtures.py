"""The MOUSes of the embedded demo archive, declared once.

Two are the seed's own (every value the seed gives); the others each show one of the oddities a
restore meets. :data:`DEMO_MOUS` maps uid -> spec; ``spec.description`` says what each shows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from importlib import resources

from .model import EbSpec, MousSpec, SchedBlockSpec, SessionSpec
from .realdata import RealEb

SEED_MOUS = "uid://A001/X12a3/X80e"
REAL_DATA_MOUS = "uid://A001/X1527/X4b2"
REAL_DATA_EBS = [
    RealEb("uid://A002/Xe45c09/X5a21", "session_1", "2019/10/20/21:30:00", 11),
    RealEb("uid://A002/Xe4f1c0/X2d7", "session_3", "2019/10/24/21:15:00", 13),
]
"""The EBs of the MOUS whose products are real CASA tables (:mod:`restorekit.demo.realdata`):
sessions 1 and 3; session 2's EB failed QA0, so the numbers have a gap."""
CYCLE7_PIPELINE = {"casa_version": "5.6.1-8", "pipeline_version": "42866M (Pipeline-CASA56-P1-B)"}


def _seed_ousstatus() -> str:
    return (
        resources.files(__package__)
        .joinpath("data/uid___A001_X12a3_X80e.ousstatus.xml")
        .read_text()
    )


def _hexuid(archive: str, serial: int, offset: int) -> str:
    return f"uid://A001/{archive}/X{serial + offset:x}"


def _eb(block: str, serial: int, start: datetime, qa0: str = "Pass", **kw) -> EbSpec:
    fmt = "%Y-%m-%d %H:%M:%S.000"
    return EbSpec(
        uid=f"uid://A002/{block}/X{serial:x}",
        qa0=qa0,  # type: ignore[arg-type]
        start=start.strftime(fmt),
        end=(start + timedelta(minutes=47)).strftime(fmt),
        **kw,
    )


def _sessions(
    block: str,
    first_serial: int,
    day: datetime,
    layout: list[list[str]],
    sb: list[list[int]] | None = None,
) -> list[SessionSpec]:
    """Sessions from a layout of QA0 verdicts, one list per session, one day apart."""
    sessions, serial = [], first_serial
    for n, verdicts in enumerate(layout):
        ebs = []
        for k, qa0 in enumerate(verdicts):
            start = day + timedelta(days=n, hours=k)
            ebs.append(_eb(block, serial, start, qa0, schedblock=sb[n][k] if sb else 0))
            serial += 0x1A3
        sessions.append(SessionSpec(ebs, part_id=f"X{n:08d}"))
    return sessions


def _mous(
    archive: str,
    serial: int,
    project: tuple[str, str, str],
    part_id: str,
    sessions: list[SessionSpec],
    description: str,
    sb_states=("FullyObserved",),
    **kw,
) -> MousSpec:
    """An MOUS whose SOUS and GOUS precede it, and whose SBs precede those."""
    code, project_uid, project_status = project
    schedblocks = [
        SchedBlockSpec(
            uid=_hexuid(archive, serial, -8 + 2 * i),
            status_uid=_hexuid(archive, serial, 1 + i),
            state=state,
            name=f"{code.split('.')[2]}_{chr(97 + i)}_06_TM1",
        )
        for i, state in enumerate(sb_states)
    ]
    return MousSpec(
        mous=_hexuid(archive, serial, 0),
        gous=_hexuid(archive, serial, -1),
        sous=_hexuid(archive, serial, -2),
        project_code=code,
        project_uid=project_uid,
        project_status=project_status,
        part_id=part_id,
        sessions=sessions,
        schedblocks=schedblocks,
        description=description,
        **kw,
    )


def _real_data_sessions() -> list[SessionSpec]:
    """Sessions 1 and 3 observed the real-data EBs; session 2's only EB failed QA0."""
    fmt = "%Y-%m-%d %H:%M:%S.000"
    ebs = []
    for eb in REAL_DATA_EBS:
        start = datetime.strptime(eb.start, "%Y/%m/%d/%H:%M:%S")
        ebs.append(EbSpec(eb.uid, "Pass", start.strftime(fmt), f"{start:%Y-%m-%d} 21:59:00.000"))
    failed = EbSpec(
        "uid://A002/Xe47a3b/X3f0", "Fail", "2019-10-22 21:20:00.000", "2019-10-22 21:49:00.000"
    )
    return [SessionSpec([eb], part_id=f"X{n:08d}") for n, eb in enumerate([ebs[0], failed, ebs[1]])]


def _specs() -> list[MousSpec]:
    """The demo MOUSes. Long because it is data: one literal per MOUS, saying what it shows."""
    seed = MousSpec(
        mous=SEED_MOUS,
        gous="uid://A001/X12a3/X80d",
        sous="uid://A001/X12a3/X80c",
        project_uid="uid://A001/X1221/Xdf8",
        project_code="2017.1.01347.S",
        project_status="uid://A001/X1221/Xdfc",
        part_id="X659301709",
        title="This is our test data set",
        pi_name="Undefined",
        sessions=[
            SessionSpec(
                [
                    EbSpec(
                        "uid://A002/Xce574d/Xa33e",
                        "SemiPass",
                        "2018-06-06 12:41:10.826",
                        "2018-06-06 13:07:22.036",
                    )
                ],
                part_id="X00000000",
            ),
            SessionSpec(
                [
                    EbSpec(
                        "uid://A002/Xcf92df/X3453",
                        "Pass",
                        "2018-07-10 10:34:32.962",
                        "2018-07-10 11:00:46.858",
                    )
                ],
                part_id="X00000001",
            ),
        ],
        schedblocks=[
            SchedBlockSpec(
                "uid://A001/X12a3/X804",
                "uid://A001/X12a3/X80f",
                "FullyObserved",
                "NGC_253_a_06_TM1",
            )
        ],
        xml_text=_seed_ousstatus(),
        fixes="casa5",
        manifest_infix="calimage",
        manifest_versions=False,
        description="The seed's curveball: two OUSStatus sessions, one in the manifest; "
        "uid://A002/Xce574d/Xa33e semi-passed QA0; the restore script carries SACM/JAO fixes.",
    )
    first = MousSpec(
        mous="uid://A001/X1284/X265f",
        gous="uid://A001/X1284/X265e",
        sous="uid://A001/X1284/X265d",
        project_uid="uid://A001/X1220/X5b1",
        project_code="2017.1.00236.S",
        project_status="uid://A001/X1220/X5b5",
        part_id="X1208411839",
        title="Dense cores in the Serpens main cluster",
        sessions=[
            SessionSpec(
                [
                    EbSpec(
                        "uid://A002/Xc7111c/X3979",
                        "Pass",
                        "2017-11-20 03:11:02.112",
                        "2017-11-20 04:02:40.004",
                    ),
                    EbSpec(
                        "uid://A002/Xc7111c/X409e",
                        "Pass",
                        "2017-11-20 04:05:12.640",
                        "2017-11-20 04:56:51.500",
                    ),
                    EbSpec(
                        "uid://A002/Xc7111c/X86a7",
                        "Pass",
                        "2017-11-20 07:22:30.020",
                        "2017-11-20 08:14:09.981",
                    ),
                ],
                part_id="X00000000",
            ),
            SessionSpec(
                [
                    EbSpec(
                        "uid://A002/Xc72427/X2dfe",
                        "Pass",
                        "2017-11-23 02:40:00.512",
                        "2017-11-23 03:31:44.316",
                    )
                ],
                part_id="X00000001",
            ),
        ],
        schedblocks=[
            SchedBlockSpec(
                "uid://A001/X1284/X2657",
                "uid://A001/X1284/X2660",
                "FullyObserved",
                "Serpens_a_07_TM1",
            )
        ],
        manifest_versions=False,
        description="The seed's first example: four EBs, all calibrated.",
    )
    unexplained = _mous(
        "X1465",
        0x6F19,
        ("2019.1.00678.S", "uid://A001/X1465/X1a0", "uid://A001/X1465/X1a4"),
        "X1903624781",
        _sessions("Xe7b3c0", 0x5D3, datetime(2019, 12, 1, 8), [["Pass"], ["Pass"]]),
        "An EB that passed QA0 was not calibrated, and nothing in the archive says why.",
        **CYCLE7_PIPELINE,
    )
    unexplained.sessions[0].ebs[0].calibrated = False
    cycle7 = ("2019.1.00678.S", "uid://A001/X1465/X1a0", "uid://A001/X1465/X1a4")
    cycle6 = ("2018.1.01205.L", "uid://A001/X133d/X10", "uid://A001/X133d/X14")
    d = datetime
    return [
        seed,
        first,
        _mous(
            "X1296",
            0x7C1,
            cycle6,
            "X1184730124",
            _sessions("Xd1bc2e", 0x2D0, d(2018, 11, 2, 5), [["Pass", "Pass"]]),
            "Not pipeline-calibrated: no calibration products, nothing to restore.",
            pipeline_calibrated=False,
        ),
        _mous(
            "X1301",
            0x1A6,
            cycle6,
            "X1184730260",
            _sessions(
                "Xd2a391",
                0x1C4,
                d(2018, 11, 20, 1),
                [["Pass"], ["Pass"], ["Pass"]],
                sb=[[0], [1], [1]],
            ),
            "EBs on two SchedBlocks; the first SB was Deleted, so the other is the one.",
            sb_states=("Deleted", "FullyObserved"),
        ),
        _mous(
            "X1320",
            0x2B4,
            cycle6,
            "X1184730388",
            _sessions(
                "Xd3e89f",
                0x1C5A,
                d(2018, 12, 4, 22),
                [["Pass", "Pass", "Pass"], ["Pass", "Pass", "Pass"]],
            ),
            "Two sessions of three EBs each.",
        ),
        _mous(
            "X133d",
            0x5E1,
            cycle6,
            "X1184730517",
            _sessions(
                "Xd4c0a1", 0x9B2, d(2019, 1, 8, 4), [["Pass"], ["Pass", "Pass"], ["Fail"], ["Pass"]]
            ),
            "Session numbers with a gap: session 3's only EB failed QA0, so the manifest "
            "has session_1, session_2 and session_4.",
        ),
        _mous(
            "X1465",
            0x1B2C,
            cycle7,
            "X1903624101",
            _sessions("Xe3a5fd", 0x11A2, d(2019, 10, 14, 6), [["Pass", "Pass"]]),
            "A CASA 6 delivery with SACM/JAO fixsyscaltimes fixes: the pipescript calls them, "
            "the restore script only imports them (the common shape).",
            fixes="casa6",
            fix_calls="pipescript",
            casa_version="6.1.1.15",
            pipeline_version="2020.1.0.36 (Pipeline-CASA61-P1-B)",
        ),
        _mous(
            "X1465",
            0x2A10,
            cycle7,
            "X1903624155",
            _sessions("Xe41b07", 0x8D1, d(2019, 10, 20, 2), [["Pass"], ["Pass"]]),
            "The OUSStatus XML is NULL in the archive.",
            xml="null",
            **CYCLE7_PIPELINE,
        ),
        _mous(
            "X1465",
            0x2B3E,
            cycle7,
            "X1903624190",
            _sessions("Xe45c99", 0x4E7, d(2019, 10, 22, 9), [["Pass", "Pass"]]),
            "The OUSStatus XML is malformed (truncated).",
            xml="malformed",
            **CYCLE7_PIPELINE,
        ),
        _mous(
            "X1465",
            0x3C01,
            cycle7,
            "X1903624377",
            _sessions("Xe52a40", 0x30F, d(2019, 11, 2, 0), [["Pass"]]),
            "The manifest names an EB the archive does not know.",
            unknown_manifest_ebs={1: ["uid://A002/Xd00bad/X1f"]},
            **CYCLE7_PIPELINE,
        ),
        _mous(
            "X1465",
            0x4D7A,
            cycle7,
            "X1903624512",
            _sessions("Xe60c3b", 0x77C, d(2019, 11, 12, 13), [["Pass"], ["Pass"]]),
            "Total power (single dish): hsd_restoredata with ocorr_mode='ao'.",
            total_power=True,
            **CYCLE7_PIPELINE,
        ),
        _mous(
            "X1465",
            0x5E0C,
            cycle7,
            "X1903624630",
            _sessions("Xe6f2d4", 0x2A8, d(2019, 11, 20, 3), [["Pass"], ["Pass"]]),
            "The manifest numbers sessions one higher than OUSStatus does.",
            manifest_session_shift=1,
            **CYCLE7_PIPELINE,
        ),
        unexplained,
        _mous(
            "X87d",
            0x1C2,
            ("2016.1.00304.S", "uid://A001/X2f6/X3e", "uid://A001/X2f6/X42"),
            "X1034581247",
            _sessions("Xb9a1f3", 0x3F1, d(2016, 10, 9, 4), [["Pass", "Pass"]]),
            "A CASA 4.7 delivery (October 2016): hif_restoredata, no member. prefixes, and a "
            "manifest without versions.",
            archive_prefix="",
            manifest_versions=False,
            restore_task="hif_restoredata",
        ),
        _mous(
            "X133d",
            0x7A2,
            cycle6,
            "X1184730644",
            _sessions("Xd5e0c2", 0x611, d(2019, 1, 20, 3), [["Pass"], ["Pass"]]),
            "Total power whose scripts import fixsyscaltimes but never call it: no fix to "
            "repeat, so the PPR route (hsd_restoredata, ocorr_mode='ao').",
            total_power=True,
            fixes="casa5",
            fix_calls="none",
        ),
        _mous(
            "X133d",
            0x8C4,
            cycle6,
            "X1184730702",
            _sessions("Xd61a37", 0x2B0, d(2019, 2, 2, 1), [["Pass", "Pass"]]),
            "SACM/JAO fixes with fixplanets: per EB, fixsyscaltimes and fixplanets on field 2 "
            "(a solar-system flux calibrator), in both scripts.",
            fixes="casa5",
            planet_fields=["2"],
        ),
        _mous(
            "X1527",
            0x4B2,
            ("2019.1.01734.S", "uid://A001/X1522/X61", "uid://A001/X1522/X65"),
            "X1903628842",
            _real_data_sessions(),
            "Real CASA products: two EBs in sessions 1 and 3 (session 2's EB failed QA0), "
            "with real caltables, Pipeline_Final flags, calapply files and raw ASDMs; the "
            "end-to-end tests restore it with the real pipeline.",
            real_data=True,
            casa_version="6.6.5.31",
            pipeline_version="2024.2.0.5",
        ),
        _mous(
            "X15a2",
            0x3D7,
            ("2021.1.01123.S", "uid://A001/X158f/X8a", "uid://A001/X158f/X8e"),
            "X1520334418",
            _sessions("Xf8e24c", 0x1B2, d(2022, 3, 14, 2), [["Pass"], ["Pass"]]),
            "A restore call with more parameters (bdfflags, asis, and pipelinemode, which the "
            "2023 pipelines no longer accept).",
            casa_version="6.2.1.7",
            pipeline_version="2021.2.0.128",
            restore_keywords={
                "bdfflags": True,
                "asis": "SBSummary ExecBlock Antenna Station Receiver Source CalAtmosphere CalWVR",
                "pipelinemode": "automatic",
            },
        ),
    ]


DEMO_SPECS: list[MousSpec] = _specs()
DEMO_MOUS: dict[str, MousSpec] = {spec.mous: spec for spec in DEMO_SPECS}
