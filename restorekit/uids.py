"""ALMA UIDs in their two spellings.

The archive writes ``uid://A001/X12a3/X80e``; file and directory names use
``uid___A001_X12a3_X80e`` (``:`` and ``/`` become ``_``). Each of the three parts is ``A`` or
``X`` followed by hexadecimal digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from restorekit.errors import InputError, InvalidUidError

_PART = r"[AX][0-9a-fA-F]+"
FILE_FORM = rf"uid___{_PART}_{_PART}_{_PART}"
"""A UID in file-name form, as a regular expression without groups: for patterns of the file
names that hold one (their uid then read with :func:`uid_of_name`)."""
_ARCHIVE = re.compile(rf"uid://({_PART})/({_PART})/({_PART})")
_FILE = re.compile(rf"uid___({_PART})_({_PART})_({_PART})")
_MAX_LEN = 64


@dataclass(frozen=True, order=True)
class Uid:
    """A validated ALMA UID; ``str(uid)`` is the archive form."""

    parts: tuple[str, str, str]

    @property
    def archive(self) -> str:
        """The archive form, ``uid://A001/X12a3/X80e``."""
        return "uid://" + "/".join(self.parts)

    @property
    def file(self) -> str:
        """The file-name form, ``uid___A001_X12a3_X80e``."""
        return "uid___" + "_".join(self.parts)

    def __str__(self) -> str:
        return self.archive


def parse_uid(value: object, *, what: str = "UID") -> Uid:
    """Parse a UID in archive or file form.

    Parameters
    ----------
    value
        ``uid://A001/X12a3/X80e`` or ``uid___A001_X12a3_X80e`` (surrounding blanks ignored).
    what
        What the value is meant to be (``"MOUS uid"``), for the error message.

    Raises
    ------
    InvalidUidError
        If ``value`` is not a string in either form.
    """
    if isinstance(value, Uid):
        return value
    text = value.strip() if isinstance(value, str) else None
    match = None
    if text is not None and len(text) <= _MAX_LEN:
        match = _ARCHIVE.fullmatch(text) or _FILE.fullmatch(text)
    if match is None:
        raise InvalidUidError(
            f"{what} {value!r} is not an ALMA UID; write it as uid://A001/X12a3/X80e "
            "or uid___A001_X12a3_X80e"
        )
    return Uid(match.groups())  # type: ignore[arg-type]


def is_archive_uid(value: object) -> bool:
    """True when ``value`` is a UID exactly as the archive stores one (``uid://A001/X1/X2``, no
    blanks): what a table's uid column holds when it names an entity at all."""
    return type(value) is str and len(value) <= _MAX_LEN and _ARCHIVE.fullmatch(value) is not None


def is_uid(value: object) -> bool:
    """True when ``value`` parses as a UID in either form."""
    try:
        parse_uid(value)
    except InvalidUidError:
        return False
    return True


def to_archive_form(value: str) -> str:
    """``uid___A001_X12a3_X80e`` -> ``uid://A001/X12a3/X80e`` (archive form passes through)."""
    return parse_uid(value).archive


def to_file_form(value: str) -> str:
    """``uid://A001/X12a3/X80e`` -> ``uid___A001_X12a3_X80e`` (file form passes through)."""
    return parse_uid(value).file


def uid_of_name(name: str) -> str:
    """A uid named in a file name (``uid___A002_X1_X2``) in archive form; anything else as is."""
    # The parts never hold "_", so a name that matches maps by replacing it.
    return "uid://" + name[6:].replace("_", "/") if _FILE.fullmatch(name) else name


def uid_of_vis(vis: str) -> str:
    """The EB of a ``vis`` a script names (``../rawdata/uid___A002_X1_X2.ms``), archive form."""
    return uid_of_name(vis.rsplit("/", 1)[-1].removesuffix(".ms"))


def read_uid_file(path: str, *, what: str = "UID") -> list[str]:
    """UIDs in archive form from a text file: one per line, ``#`` starts a comment.

    Raises
    ------
    InputError
        If the file cannot be read, or naming the file and line of a malformed UID.
    """
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()
    except OSError as exc:
        raise InputError(f"cannot read {what} file {path!r} ({exc.strerror})") from None
    uids = []
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if text:
            try:
                uids.append(parse_uid(text, what=what).archive)
            except InputError as exc:
                raise InputError(f"{path}, line {number}: {exc}") from None
    return uids
