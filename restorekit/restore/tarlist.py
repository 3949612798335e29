"""Member listings of the tar archives in ``products/``, cached beside the restore area.

A ``.tgz`` cannot be listed without inflating it, so each listing is kept in
``working/.restorekit-tars.json`` keyed by name, size and mtime: a check of an area ``prepare``
wrote (which checks it once) reads no archive again.
"""

from __future__ import annotations

import tarfile
from dataclasses import dataclass
from pathlib import Path

from restorekit.fsutil import StatCache

INDEX_NAME = ".restorekit-tars.json"


@dataclass(frozen=True)
class TarListing:
    """The two leading path components of every member, and each ``FLAG_VERSION_LIST``."""

    entries: frozenset[str]
    flag_lists: dict[str, str]

    @property
    def tops(self) -> set[str]:
        return {e.split("/", 1)[0] for e in self.entries}


class TarListings:
    """Tar listings by file, from the cache when size and mtime still match."""

    def __init__(self, index_file: Path | None) -> None:
        self.cache = StatCache(index_file)
        self.read = 0

    def listing(self, path: Path) -> TarListing:
        stat = path.stat()
        hit = self.cache.get(path.name, stat)
        if hit is not None:
            return TarListing(frozenset(hit["entries"]), hit["flag_lists"])
        listing = _read_listing(path)
        self.read += 1
        value = {"entries": sorted(listing.entries), "flag_lists": listing.flag_lists}
        self.cache.put(path.name, stat, value)
        return listing

    def save(self) -> None:
        self.cache.save()


def _read_listing(path: Path) -> TarListing:
    entries, flag_lists = set(), {}
    with tarfile.open(path, mode="r|*") as tar:
        for member in tar:
            parts = member.name.strip("/").split("/")
            entries.add("/".join(parts[:2]))
            if len(parts) == 2 and parts[1] == "FLAG_VERSION_LIST" and member.isfile():
                handle = tar.extractfile(member)
                text = handle.read(1 << 16).decode(errors="replace") if handle else ""
                flag_lists[parts[0]] = text
    return TarListing(frozenset(entries), flag_lists)
