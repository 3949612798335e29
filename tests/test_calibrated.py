"""What the product names alone say was calibrated: the names the archive really holds, and the
ones that only look like them."""

from __future__ import annotations

import re

import pytest

from restorekit.evidence.gather import Evidence
from restorekit.rules.calibrated import calibrated_from_products
from restorekit.sources.manifest import session_number
from restorekit.uids import uid_of_name

# The patterns the names are defined by (the pipeline's export task names them so); the rule
# reads them without a regular expression per name, and must read them the same.
CALTABLES = re.compile(r"\.(session_\d+|default)\.caltables\.tgz$")
EB_PRODUCT = re.compile(
    r"^(?:member\.)?(uid___[AX][0-9a-fA-F]+_[AX][0-9a-fA-F]+_[AX][0-9a-fA-F]+)"
    r"\.ms\.(calapply\.txt|flagversions\.tgz)$"
)

NAMES = [
    "member.uid___A001_X1527_X4b2.session_1.caltables.tgz",
    "uid___A001_X1527_X4b2.session_12.caltables.tgz",
    "member.uid___A001_X1527_X4b2.default.caltables.tgz",
    "member.uid___A001_X1527_X4b2.session_1.auxcaltables.tgz",
    "member.uid___A001_X1527_X4b2.session_.caltables.tgz",
    "member.uid___A001_X1527_X4b2.session_x.caltables.tgz",
    "member.uid___A001_X1527_X4b2.session_².caltables.tgz",
    "member.uid___A001_X1527_X4b2.session_٣.caltables.tgz",
    "session_1.caltables.tgz",
    ".session_2.caltables.tgz",
    "x.Session_3.caltables.tgz",
    "x.session_4.caltables.tgz.part",
    "caltables.tgz",
    "uid___A002_Xe45c09_X5a21.ms.calapply.txt",
    "member.uid___A002_Xe45c09_X5a21.ms.flagversions.tgz",
    "uid___A002_Xe4f1c0_X2d7_target.ms.auxcalapply.txt",
    "uid___A002_Xe4f1c0_X2d7.ms.calapply.txt.bak",
    "uid___A002_Xe4f1c0.ms.calapply.txt",
    "uid___B002_Xe4f1c0_X2d7.ms.calapply.txt",
    "prefix.uid___A002_Xe4f1c0_X2d7.ms.calapply.txt",
    "uid___A002_Xe4f1c0_X2d8.ms.flagversions.tgz",
    "member.uid___A001_X1527_X4b2.hifa_calimaging.pipeline_manifest.xml",
]


def _expected(names: list[str]) -> tuple[set, dict]:
    sessions = {m.group(1) for n in names if (m := CALTABLES.search(n))}
    kinds: dict[str, set[str]] = {}
    for n in names:
        if m := EB_PRODUCT.match(n):
            kinds.setdefault(m.group(1), set()).add(m.group(2))
    return sessions, kinds


@pytest.mark.parametrize("drop", [None, *range(0, len(NAMES), 3)])
def test_the_product_names_are_read_as_their_patterns_define_them(drop):
    names = [n for i, n in enumerate(NAMES) if i != drop]
    ev = Evidence(mous="uid://A001/X1527/X4b2", products=dict.fromkeys(names, "calibration"))
    session_of = {"uid://A002/Xe45c09/X5a21": 1, "uid://A002/Xe4f1c0/X2d8": 12}
    sessions, kinds = _expected(names)

    found = calibrated_from_products(ev, session_of, [])

    assert {eb for eb, _, _, _ in found} == set(kinds)
    for eb, uid, guess, missing in found:
        assert uid == uid_of_name(eb)
        kinds_lacking = [k for k in ("calapply.txt", "flagversions.tgz") if k not in kinds[eb]]
        assert missing == [f"{eb}.ms.{k}" for k in kinds_lacking]
        ordinal = session_of.get(uid)
        if ordinal and f"session_{ordinal}" in sessions:
            assert guess == f"session_{ordinal}"
        else:
            assert guess == (next(iter(sessions)) if len(sessions) == 1 else None)


def test_a_session_number_is_decimal_digits_only():
    assert session_number("session_12") == 12
    assert session_number("session_٣") == 3  # what \d matches, int() reads
    assert session_number("session_²") is None  # a digit, but not decimal: was a ValueError
    assert session_number("session_") is None
    assert session_number("session_1a") is None
