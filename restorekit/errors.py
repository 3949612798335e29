"""Exception types of restorekit.

Every error a user can cause or meet carries a one-line message that names the bad value and
what to do, and an ``exit_code`` the CLI returns: 2 for bad input, 1 for the environment
(database, network, files), 3 for an MOUS that cannot be restored.
"""

from __future__ import annotations


class RestorekitError(Exception):
    """Base class: a failure with a one-line, user-facing message.

    Attributes
    ----------
    mous, file_id, url, path
        What the failure concerns, where known (``None`` otherwise): for programs that act on
        errors without parsing messages. ``url`` never holds a password.
    """

    exit_code = 1

    def __init__(
        self,
        message: str = "",
        *,
        mous: str | None = None,
        file_id: str | None = None,
        url: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.mous, self.file_id, self.url, self.path = mous, file_id, url, path

    def __str__(self) -> str:
        # One line, always: multi-line driver messages are folded.
        return " ".join(super().__str__().split())


class InputError(RestorekitError, ValueError):
    """A value given by the user is malformed or unknown."""

    exit_code = 2


class InvalidUidError(InputError):
    """A string is not an ALMA UID in archive (``uid://...``) or file (``uid___...``) form."""


class UnknownMousError(InputError):
    """The archive holds no trace of the MOUS asked for."""


class ConfigurationError(InputError):
    """A setting (URL, schema name, path) is malformed."""


class ArchiveError(RestorekitError):
    """The archive database could not be reached or answered with an error."""


class NgasError(RestorekitError):
    """A product could not be fetched from the NGAS store."""


class DocumentError(RestorekitError):
    """An archive document (OUSStatus XML, manifest, script) could not be read."""


class DegradedEvidenceError(RestorekitError):
    """A delivered document the plan depends on could not be read; nothing was planned."""


class NotRestorableError(RestorekitError):
    """The MOUS cannot be restored (for instance: it was never pipeline-calibrated)."""

    exit_code = 3


class RestoreAreaError(RestorekitError):
    """The restore area exists already, or cannot be written."""

    exit_code = 2


class PprCheckError(RestorekitError):
    """A written PPR does not read back, under the pipeline's rules, as the plan says."""


class PreflightError(RestorekitError):
    """A restore area would fail in the pipeline's restore (see ``restorekit check``).

    ``report`` holds every problem found.
    """

    def __init__(self, message: str, report=None, **fields) -> None:
        super().__init__(message, **fields)
        self.report = report


class SchedulerError(RestorekitError):
    """A batch scheduler's command (sbatch, squeue, condor_submit, ...) failed or is missing."""

    exit_code = 1


def count_option(value: int, what: str, *, most: int | None = None) -> int:
    """``value`` when it is a whole number of at least 1 (and at most ``most``), else
    :class:`InputError` naming ``what`` (``--jobs``, ``jobs``)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < 1
        or (most is not None and value > most)
    ):
        bounds = f"from 1 to {most}" if most is not None else "of at least 1"
        raise InputError(f"{what} {value!r} must be a whole number {bounds}")
    return value


def seconds_option(value: float | None, what: str) -> float | None:
    """``value`` (``None``: no limit) when it is a finite number of seconds above 0, else
    :class:`InputError` naming ``what``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e12:
        raise InputError(f"{what} {value!r} must be a number of seconds above 0")
    return float(value)
