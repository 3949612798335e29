"""Parsing XML from the archive safely: no entity expansion, no DTDs, no network."""

from __future__ import annotations

import threading

from lxml import etree

from restorekit.errors import DocumentError

_local = threading.local()


def _parser(encoding: str | None = None) -> etree.XMLParser:
    """One parser per thread and encoding (lxml parsers must not be shared between threads)."""
    name = f"parser_{encoding}"
    parser = getattr(_local, name, None)
    if parser is None:
        parser = _new_parser(encoding)
        setattr(_local, name, parser)
    return parser


def _new_parser(encoding: str | None = None) -> etree.XMLParser:
    """``encoding``, when given, overrides what the document's declaration says."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        encoding=encoding,
    )


def parse_xml(text: str | bytes, *, what: str) -> etree._Element:
    """Parse ``text`` into an element tree.

    Raises
    ------
    DocumentError
        One line naming ``what`` and where the document breaks.
    """
    # Text is already decoded (a CLOB, a str): its bytes here are UTF-8, whatever encoding the
    # declaration names. Bytes are decoded as the declaration says.
    if isinstance(text, str):
        data, encoding = text.encode(), "utf-8"
    else:
        data, encoding = text, None
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        # Archive documents never carry a DTD; one that does is refused before parsing, so no
        # entity (external or internal) is ever expanded.
        raise DocumentError(f"{what} declares a DTD or entities; such documents are not read")
    try:
        root = etree.fromstring(data, _parser(encoding))
    except etree.XMLSyntaxError as exc:
        raise DocumentError(f"{what} is not well-formed XML ({exc.msg})") from None
    if root is None:
        raise DocumentError(f"{what} is empty")
    return root


def local(tag: object) -> str:
    """An element's tag without its namespace (``{Alma/...}Session`` -> ``Session``)."""
    return tag[tag.rfind("}") + 1 :] if type(tag) is str else ""
