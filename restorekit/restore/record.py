"""``working/restorekit.json``: the claim a restore area carries, and whether a run may write it.

An area is a run's when its record names the same MOUS, plan and site settings; the claim is
written before the first byte, so a run that failed in any way resumes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime

from restorekit import __version__
from restorekit.errors import RestoreAreaError
from restorekit.restore.layout import RestoreLayout
from restorekit.settings import SiteSettings
from restorekit.sources.archive import mask_secrets

log = logging.getLogger("restorekit.prepare")


def plan_key(plan) -> str:
    return hashlib.sha256(json.dumps(plan.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def settings_key(settings: SiteSettings) -> str:
    return hashlib.sha256(json.dumps(asdict(settings), sort_keys=True).encode()).hexdigest()[:16]


def claim_area(layout: RestoreLayout, plan, settings: SiteSettings, overwrite: bool) -> bool:
    """Decide whether the area may be written; True when this run resumes an earlier one.

    An area is this run's when ``working/restorekit.json`` names the same MOUS, plan and site
    settings; the claim is written before the first byte, so a run that failed in any way
    resumes. ``overwrite`` rewrites the PPR and scripts (complete products are kept).
    """
    if not layout.mous_dir.exists():
        return False
    _refuse_symlinks(layout)
    try:
        record = json.loads(layout.record.read_text())
    except (OSError, ValueError):
        record = {}
    same_mous = record.get("mous") == plan.mous
    same_plan = same_mous and record.get("plan_key") == plan_key(plan)
    same_settings = record.get("settings_key") == settings_key(settings)
    if overwrite:
        return False
    if same_plan and same_settings:
        return True
    if same_mous and not same_settings:
        # Other settings (a CASA catalog, say) often make the other plan: name the cause.
        before = record.get("settings") or {}
        now = json.loads(json.dumps(asdict(settings)))  # as the record holds them
        changed = sorted(k for k, v in now.items() if before.get(k) != v)
        why = f"was prepared with other site settings ({', '.join(changed) or 'unknown'})"
    elif same_mous:
        why = "was prepared from a different plan"
    else:
        why = "was not made by restorekit for this MOUS"
    raise RestoreAreaError(
        f"restore area {layout.mous_dir} exists and {why}; rerun with --overwrite to rewrite "
        "its PPR and scripts (complete products are kept)",
        mous=plan.mous,
        path=str(layout.mous_dir),
    )


def _refuse_symlinks(layout: RestoreLayout) -> None:
    """A symbolic link where restorekit writes a file could send the write anywhere."""
    for directory in (layout.working, layout.products, layout.rawdata, layout.mous_dir):
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            if path.is_symlink():
                raise RestoreAreaError(
                    f"restore area {layout.mous_dir} holds a symbolic link, {path}; restorekit "
                    "never writes through links: remove it and rerun"
                )


def unwritable(layout: RestoreLayout, exc: OSError) -> RestoreAreaError:
    """The error for an area that cannot be written under its root."""
    return RestoreAreaError(
        f"cannot write the restore area under {layout.root} ({exc.strerror}); choose a "
        "writable --root",
        path=str(layout.mous_dir),
    )


@contextlib.contextmanager
def area_lock(layout: RestoreLayout) -> Iterator[None]:
    """Hold the area for this process (an exclusive lock on ``.MOUS_<uid>.lock`` beside it).

    Raises
    ------
    RestoreAreaError
        When another process holds it: its pid and host are named.
    """
    lock = layout.mous_dir.parent / f".{layout.mous_dir.name}.lock"
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as exc:
        raise unwritable(layout, exc) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            raise RestoreAreaError(
                f"restore area {layout.mous_dir} is being prepared by {holder}; wait for it to "
                "end, then rerun (a rerun resumes)",
                path=str(layout.mous_dir),
            ) from None
        except OSError as exc:  # a file system without locks: say so, go on unlocked
            log.warning("restore area %s not locked (%s)", layout.mous_dir, exc.strerror)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def submitted_jobs(layout: RestoreLayout) -> list[dict]:
    """The jobs ``restorekit submit`` recorded in the area (oldest first): a new record of the
    area keeps them, so that ``status`` still finds the last one."""
    try:
        jobs = json.loads(layout.record.read_text()).get("jobs")
    except (OSError, ValueError, AttributeError):
        return []
    return jobs if isinstance(jobs, list) else []


def area_record(the_plan, settings: SiteSettings, status: str, created: datetime, **more) -> str:
    """``working/restorekit.json``: what the area was made from (never a password)."""
    record = {
        "mous": the_plan.mous,
        "status": status,
        "plan_key": plan_key(the_plan),
        "settings_key": settings_key(settings),
        "restorekit": __version__,
        "prepared": created.isoformat(timespec="seconds"),
        "settings": asdict(settings),
        **more,
    }
    return mask_secrets(json.dumps(record, indent=2)) + "\n"
