"""Make an ASDM written by CASA's ``exportasdm`` look like one ALMA writes, so that
``importasdm`` and the pipeline's ``hifa_importdata`` read it as ALMA data.

``exportasdm`` cuts a simulated MS into one ExecBlock per stretch of time, numbers every scan 1,
labels every scan ``OBSERVE_TARGET``, and drops spectral-window names and basebands. Its
``Main`` rows (one per subscan and data description) are right, though; this module regroups
them into one ExecBlock named after the EB uid, one scan per field visit with ALMA intents,
named spectral windows on their basebands, and fixes the row counts in ``ASDM.xml``. Plain
text processing of the ASDM's XML tables: no CASA needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_ROW = re.compile(r"<row>(.*?)</row>", re.S)


def _get(row: str, tag: str) -> str:
    m = re.search(rf"<{tag}>\s*(.*?)\s*</{tag}>", row, re.S)
    if m is None:
        raise ValueError(f"no <{tag}> in an ASDM row")
    return m.group(1)


def _set(row: str, tag: str, value: str) -> str:
    return re.sub(rf"<{tag}>.*?</{tag}>", f"<{tag}> {value} </{tag}>", row, count=1, flags=re.S)


def _rows(path: Path) -> tuple[str, list[str], str]:
    text = path.read_text(encoding="iso-8859-1")
    rows = _ROW.findall(text)
    head = text[: text.index("<row>")] if rows else text
    tail = text[text.rindex("</row>") + len("</row>") :] if rows else ""
    return head, rows, tail


def _write(path: Path, head: str, rows: list[str], tail: str) -> None:
    body = "".join(f"<row>{r}</row>\n" for r in rows)
    path.write_text(head + body + tail.lstrip(), encoding="iso-8859-1")


@dataclass
class _Chunk:
    """Main rows of one stretch of integrations on one field."""

    field: str
    start: int
    end: int
    rows: list[int]


def _array(values: list[str]) -> str:
    return f"1 {len(values)} " + " ".join(values)


def repair_asdm(
    asdm: str | Path,
    eb_uid: str,
    intents: dict[str, list[str]],
    spw_names: list[str],
) -> None:
    """Rewrite ``asdm`` in place (see the module docstring).

    Parameters
    ----------
    eb_uid
        The execution block uid (``uid://A002/...``) the ASDM becomes.
    intents
        Field name -> ALMA scan intents (``CALIBRATE_BANDPASS``, ``OBSERVE_TARGET``, ...).
    spw_names
        Names of the spectral windows in order, e.g. ``ALMA_RB_03#BB_1#SW-01#FULL_RES``; the
        baseband is taken from the ``#BB_n#`` part.
    """
    root = Path(asdm)
    fields = _field_names(root)
    chunks, scan_of = _chunks_and_scans(root, fields)
    _rewrite_main(root, chunks, scan_of)
    _rewrite_scans(root, chunks, scan_of, intents)
    _rewrite_execblock(root, eb_uid, chunks)
    _rewrite_spws(root, spw_names)
    _rewrite_counts(root)


def _field_names(root: Path) -> dict[str, str]:
    _, rows, _ = _rows(root / "Field.xml")
    return {_get(r, "fieldId"): _get(r, "fieldName") for r in rows}


def _chunks_and_scans(root: Path, fields: dict[str, str]):
    _, rows, _ = _rows(root / "Main.xml")
    spans = []
    for i, row in enumerate(rows):
        centre, interval = int(_get(row, "time")), int(_get(row, "interval"))
        n = int(_get(row, "numIntegration"))
        start = centre - n * interval // 2
        spans.append((start, start + n * interval, fields[_get(row, "fieldId")], i))
    chunks: list[_Chunk] = []
    for start, end, field, i in sorted(spans):
        same = [c for c in chunks if c.field == field and c.start == start and c.end == end]
        if same:
            same[0].rows.append(i)
        else:
            chunks.append(_Chunk(field, start, end, [i]))
    chunks.sort(key=lambda c: c.start)
    # A scan is a visit: consecutive chunks on one field.
    scan_of, scan = [], 0
    for k, chunk in enumerate(chunks):
        if k == 0 or chunk.field != chunks[k - 1].field:
            scan += 1
        scan_of.append(scan)
    return chunks, scan_of


def _subscan_numbers(scan_of: list[int]) -> list[int]:
    out, last, n = [], None, 0
    for scan in scan_of:
        n = n + 1 if scan == last else 1
        out.append(n)
        last = scan
    return out


def _rewrite_main(root: Path, chunks: list[_Chunk], scan_of: list[int]) -> None:
    head, rows, tail = _rows(root / "Main.xml")
    subscans = _subscan_numbers(scan_of)
    for chunk, scan, subscan in zip(chunks, scan_of, subscans, strict=True):
        for i in chunk.rows:
            row = _set(rows[i], "scanNumber", str(scan))
            row = _set(row, "subscanNumber", str(subscan))
            rows[i] = _set(row, "execBlockId", "ExecBlock_0")
    order = [i for chunk in chunks for i in chunk.rows]
    _write(root / "Main.xml", head, [rows[i] for i in order], tail)


def _rewrite_scans(
    root: Path, chunks: list[_Chunk], scan_of: list[int], intents: dict[str, list[str]]
) -> None:
    head, old, tail = _rows(root / "Scan.xml")
    shead, sold, stail = _rows(root / "Subscan.xml")
    scans, subscans = [], []
    numbers = _subscan_numbers(scan_of)
    for scan in sorted(set(scan_of)):
        mine = [(c, n) for c, s, n in zip(chunks, scan_of, numbers, strict=True) if s == scan]
        field = mine[0][0].field
        names = intents.get(field, ["OBSERVE_TARGET"])
        row = _set(old[0], "scanNumber", str(scan))
        row = _set(row, "startTime", str(mine[0][0].start))
        row = _set(row, "endTime", str(mine[-1][0].end))
        row = _set(row, "numIntent", str(len(names)))
        row = _set(row, "numSubscan", str(len(mine)))
        row = _set(row, "scanIntent", _array(names))
        row = _set(row, "calDataType", _array(["FULL_RESOLUTION_CROSS"] * len(names)))
        row = _set(row, "calibrationOnLine", _array(["false"] * len(names)))
        scans.append(_set(row, "execBlockId", "ExecBlock_0"))
        for chunk, number in mine:
            sub = _set(sold[0], "scanNumber", str(scan))
            sub = _set(sub, "subscanNumber", str(number))
            sub = _set(sub, "startTime", str(chunk.start))
            sub = _set(sub, "endTime", str(chunk.end))
            sub = _set(sub, "fieldName", chunk.field)
            count = (chunk.end - chunk.start) // _interval(root)
            sub = _set(sub, "numIntegration", str(count))
            sub = _set(sub, "numSubintegration", _array(["0"] * count))
            subscans.append(_set(sub, "execBlockId", "ExecBlock_0"))
    _write(root / "Scan.xml", head, scans, tail)
    _write(root / "Subscan.xml", shead, subscans, stail)


def _interval(root: Path) -> int:
    _, rows, _ = _rows(root / "Main.xml")
    return int(_get(rows[0], "interval"))


def _rewrite_execblock(root: Path, eb_uid: str, chunks: list[_Chunk]) -> None:
    head, rows, tail = _rows(root / "ExecBlock.xml")
    row = _set(rows[0], "endTime", str(max(c.end for c in chunks)))
    row = _set(row, "startTime", str(min(c.start for c in chunks)))
    row = re.sub(
        r"(<execBlockUID>\s*<EntityRef entityId=\")[^\"]*", rf"\g<1>{eb_uid}", row, count=1
    )
    _write(root / "ExecBlock.xml", head, [row], tail)


def _rewrite_spws(root: Path, names: list[str]) -> None:
    head, rows, tail = _rows(root / "SpectralWindow.xml")
    out = []
    for row, name in zip(rows, names, strict=False):
        baseband = re.search(r"#(BB_\d)#", name)
        row = re.sub(
            r"<basebandName>.*?</basebandName>",
            f"<basebandName>{baseband.group(1) if baseband else 'NOBB'}</basebandName>",
            row,
            count=1,
        )
        row = re.sub(r"<name>.*?</name>", "", row)
        row = row.replace("</measFreqRef>", f"</measFreqRef><name>{name}</name>", 1)
        out.append(row)
    _write(root / "SpectralWindow.xml", head, out + rows[len(out) :], tail)


def _rewrite_counts(root: Path) -> None:
    path = root / "ASDM.xml"
    text = path.read_text(encoding="iso-8859-1")
    for table in ("Main", "Scan", "Subscan", "ExecBlock", "SpectralWindow"):
        _, rows, _ = _rows(root / f"{table}.xml")
        text = re.sub(
            rf"(<Name>\s*{table}\s*</Name>\s*<NumberRows>)\s*\d+\s*(</NumberRows>)",
            rf"\g<1> {len(rows)} \g<2>",
            text,
            count=1,
        )
    path.write_text(text, encoding="iso-8859-1")
