"""The OUSStatus document: sessions of EBs and the references the PPR needs."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from restorekit.errors import DocumentError
from restorekit.sources.xmlsafe import local, parse_xml

REF_KEYS = (
    "ous_status",
    "containing_ous",
    "project_status",
    "obs_project",
    "part_id",
    "sbstatus",
    "state",
)


@dataclass(frozen=True)
class Session:
    """One ``Session`` element: ``ordinal`` is its 1-based position in the document."""

    ordinal: int
    part_id: str | None
    start: str | None
    end: str | None
    ebs: tuple[str, ...]
    sbstatus_ref: str | None


@dataclass(frozen=True)
class OusStatus:
    """What an OUSStatus document says.

    Attributes
    ----------
    sessions
        The sessions in document order.
    refs
        ``ous_status`` (OUSStatusEntity), ``containing_ous`` (ContainingObsUnitSetRef),
        ``project_status`` (ProjectStatusRef), ``obs_project`` and ``part_id``
        (ObsUnitSetRef), ``sbstatus`` (SBStatusRef), ``state`` (Status/@State).
    """

    sessions: list[Session]
    refs: dict[str, str | None] = field(default_factory=dict)

    def session_of(self) -> dict[str, int]:
        """EB uid -> ordinal of the (first) session that holds it."""
        out: dict[str, int] = {}
        for session in self.sessions:
            for eb in session.ebs:
                out.setdefault(eb, session.ordinal)
        return out

    def table(self) -> pd.DataFrame:
        """One row per session, EBs joined by ``' | '``."""
        return pd.DataFrame(
            [
                {
                    "session": s.ordinal,
                    "entityPartId": s.part_id,
                    "start": s.start,
                    "end": s.end,
                    "ebs": " | ".join(s.ebs),
                    "SBStatusRef": s.sbstatus_ref,
                }
                for s in self.sessions
            ],
            columns=["session", "entityPartId", "start", "end", "ebs", "SBStatusRef"],
        )

    def refs_table(self) -> pd.DataFrame:
        return pd.DataFrame({"reference": list(self.refs), "value": list(self.refs.values())})


def parse_ousstatus(text: str | bytes, *, mous: str = "the MOUS") -> OusStatus:
    """Parse an OUSStatus document.

    Raises
    ------
    DocumentError
        If the XML is malformed or is not an OUSStatus document.
    """
    root = parse_xml(text, what=f"the OUSStatus XML of {mous}")
    if local(root.tag) != "OUSStatus":
        raise DocumentError(
            f"the OUSStatus XML of {mous} has root <{local(root.tag)}>, not <OUSStatus>"
        )
    refs: dict[str, str | None] = dict.fromkeys(REF_KEYS)
    sessions: list[Session] = []
    # One pass over the children, comparing local names: the survey parses every document
    # of the archive, and this is twice as fast as find()/iterfind() path look-ups.
    for child in root:
        name = _local(child.tag)
        if name == "Session":
            sessions.append(_session(child, len(sessions) + 1))
        elif name in _REFS:
            key, attribute = _REFS[name]
            if refs[key] is None:
                refs[key] = child.get(attribute)
                if name == "ObsUnitSetRef":
                    refs["part_id"] = child.get("partId")
    return OusStatus(sessions, refs)


_REFS = {
    "Status": ("state", "State"),
    "OUSStatusEntity": ("ous_status", "entityId"),
    "ContainingObsUnitSetRef": ("containing_ous", "entityId"),
    "ProjectStatusRef": ("project_status", "entityId"),
    "ObsUnitSetRef": ("obs_project", "entityId"),
    "SBStatusRef": ("sbstatus", "entityId"),
}
_LOCAL_NAMES: dict[object, str] = {}


def _local(tag: object) -> str:
    """:func:`local`, remembered: OUSStatus documents use a handful of tags."""
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        name = local(tag)
        if len(_LOCAL_NAMES) < 256:  # a document with endless tag names cannot grow it
            _LOCAL_NAMES[tag] = name
    return name


def _stripped(text: str | None) -> str | None:
    return (text or "").strip() or None


def _session(node, ordinal: int) -> Session:
    start = end = sbstatus = None
    ebs: list[str] = []
    for child in node:
        name = _local(child.tag)
        if name == "ExecBlockRef":
            for ref in child:
                if _local(ref.tag) == "ExecBlockId" and (eb := _stripped(ref.text)):
                    ebs.append(eb)
        elif name == "StartTime":
            start = _stripped(child.text)
        elif name == "EndTime":
            end = _stripped(child.text)
        elif name == "SBStatusRef":
            sbstatus = child.get("entityId")
    return Session(ordinal, node.get("entityPartId"), start, end, tuple(ebs), sbstatus)
