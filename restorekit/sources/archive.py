"""The connection to the archive metadata database.

:func:`connect` returns a SQLAlchemy engine from, in order, an explicit URL, the
``RESTOREKIT_DB`` environment variable, or the embedded demo archive. Passwords never enter the
URL: they come from ``RESTOREKIT_DB_PASSWORD`` (or a URL, from which they are moved) into the
driver's connect arguments, so every repr, log line and error shows the URL without them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sqlite3
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from restorekit.errors import ArchiveError, ConfigurationError
from restorekit.sources import schema

log = logging.getLogger("restorekit")
_DEMO_DATABASES: set[str] = set()

ENV_URL = "RESTOREKIT_DB"
ENV_PASSWORD = "RESTOREKIT_DB_PASSWORD"
ENV_SCHEMA = "RESTOREKIT_DB_SCHEMA"
ENV_WALLET_PASSWORD = "RESTOREKIT_WALLET_PASSWORD"
DEMO = "demo"
DEFAULT_ORACLE_SCHEMA = "ALMA"

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_$#]{0,127}")
# Query-string keys of an Oracle URL that are driver settings, not part of the DSN.
_ORACLE_DRIVER_KEYS = ("config_dir", "wallet_location")


def lob_text(value):
    """A text column's value: Oracle returns a CLOB as a LOB to ``read()``, SQLite as ``str``."""
    if type(value) is str:  # SQLite, and most of the survey's rows: no attribute look-up
        return value
    return value.read() if hasattr(value, "read") else value


def connect(url: str | None = None, *, schema: str | None = None) -> Engine:
    """Return an engine on the archive.

    Parameters
    ----------
    url
        ``sqlite:///path/to/archive.db`` (or just the file's path),
        ``oracle+oracledb://user@host:1521?service_name=SVC``,
        ``oracle+oracledb://user@tns_alias?config_dir=/path/to/tns_admin``, or ``"demo"``.
        ``None`` falls back to ``$RESTOREKIT_DB``, then to the embedded demo archive.
    schema
        Owner of the tables on Oracle (``ALMA`` unless ``$RESTOREKIT_DB_SCHEMA`` says otherwise);
        queries then read ``ALMA.ASA_SCIENCE`` and so on. Ignored for SQLite.

    Raises
    ------
    ConfigurationError
        If the URL or schema name is malformed, or a SQLite file does not exist.
    """
    text = url if url is not None else os.environ.get(ENV_URL) or DEMO
    _register_url_password(text)
    if text == DEMO:
        from restorekit.demo import demo_archive

        if url is None:
            log.warning(
                "using the embedded demo archive: no --db (db_url) and no %s is set", ENV_URL
            )
        _DEMO_DATABASES.add(str(demo_archive().database.resolve()))
        return _sqlite_engine(demo_archive().database)
    if "://" not in text and text.strip():
        return _sqlite_engine(Path(text).expanduser())  # a plain path: a SQLite archive file
    try:
        parsed = make_url(text)
    except Exception:
        raise ConfigurationError(
            f"database URL {mask_url_text(text)!r} is malformed; write sqlite:///path/archive.db "
            "or oracle+oracledb://user@host:1521?service_name=SERVICE"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(Path(parsed.database or ""))
    if backend == "oracle":
        return _oracle_engine(parsed, schema)
    raise ConfigurationError(
        f"database URL {parsed.render_as_string(hide_password=True)!r} is for {backend!r}; "
        "restorekit reads sqlite:/// files and oracle+oracledb:// archives"
    )


class _DropDemoNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "embedded demo archive" not in record.getMessage()


@contextlib.contextmanager
def demo_notice_silenced():
    """For a front end that says it is using the demo archive itself (the record's card)."""
    quiet = _DropDemoNotice()
    log.addFilter(quiet)
    try:
        yield
    finally:
        log.removeFilter(quiet)


def schema_of(engine: Engine) -> str | None:
    """The Oracle owner the engine's queries name their tables under (``None`` for SQLite)."""
    translate = engine.get_execution_options().get("schema_translate_map") or {}
    return translate.get(None)


def _register_url_password(text: str) -> None:
    userinfo = _USERINFO.match(text.strip()) if "@" in text else None
    if userinfo:
        register_secret(userinfo[2])
    try:
        register_secret(make_url(text).password)
    except Exception:  # malformed: the pattern above already took what it could
        pass


def _sqlite_engine(path: Path) -> Engine:
    if not path.name or not path.is_file():
        raise ConfigurationError(
            f"no archive database at {str(path)!r}; give an existing SQLite file, or build "
            "the demo archive with `restorekit demo-archive DIR`"
        )
    uri = "file:" + urllib.parse.quote(str(path.resolve())) + "?mode=ro"

    def creator() -> sqlite3.Connection:
        # Read-only: restorekit never writes to an archive.
        return sqlite3.connect(uri, uri=True, check_same_thread=False)

    return sa.create_engine(f"sqlite:///{path.resolve()}", creator=creator)


def _oracle_engine(parsed: URL, schema: str | None) -> Engine:
    owner = schema if schema is not None else os.environ.get(ENV_SCHEMA, DEFAULT_ORACLE_SCHEMA)
    if owner and not _IDENTIFIER.fullmatch(owner):
        raise ConfigurationError(
            f"schema name {owner!r} is not an Oracle identifier; give a name such as ALMA"
        )
    connect_args: dict[str, Any] = {}
    password = parsed.password or os.environ.get(ENV_PASSWORD)
    if password:
        connect_args["password"] = password
    wallet_password = os.environ.get(ENV_WALLET_PASSWORD)
    if wallet_password:
        connect_args["wallet_password"] = wallet_password
    query = dict(parsed.query)
    for key in _ORACLE_DRIVER_KEYS:
        if key in query:
            connect_args[key] = query.pop(key)
    if "config_dir" not in connect_args and os.environ.get("TNS_ADMIN"):
        connect_args["config_dir"] = os.environ["TNS_ADMIN"]
    clean = parsed._replace(password=None).set(query=query)
    try:
        # Large fetches (the survey reads whole tables) in few network round trips.
        engine = sa.create_engine(clean, connect_args=connect_args, arraysize=5000)
    except ModuleNotFoundError:
        raise ConfigurationError(
            "the Oracle driver is not installed; run `pip install 'restorekit[oracle]'`"
        ) from None
    if owner:
        engine = engine.execution_options(schema_translate_map={None: owner})
    return engine


def describe(engine: Engine) -> str:
    """The engine's URL, safe to show: any password is replaced by ``***``."""
    shown = engine.url.render_as_string(hide_password=True)
    demo = str(engine.url.database) in _DEMO_DATABASES
    return f"the embedded demo archive ({shown})" if demo else shown


_SECRETS: set[str] = set()
_URL_TOKEN = re.compile(r"[^\s'\"<>]+")
_USERINFO = re.compile(r"^((?:[A-Za-z][\w+.-]*:/*)?[^:/@\s]*:)(.+)@([^@]*)$")


def register_secret(value: str | None) -> None:
    """Remember a password so that :func:`mask_secrets` hides it wherever it turns up."""
    if value and len(value) >= 3:
        _SECRETS.add(value)


def mask_url_text(text: str) -> str:
    """Mask the password of every URL-like token in ``text``, even one that does not parse:
    one slash or none after the scheme, no scheme, an unencoded ``@`` in the password (the
    password runs to the last ``@`` of the token)."""

    def one(match: re.Match) -> str:
        token = match.group(0)
        userinfo = _USERINFO.match(token) if "@" in token else None
        return f"{userinfo[1]}***@{userinfo[3]}" if userinfo else token

    return _URL_TOKEN.sub(one, text)


def mask_secrets(text: str) -> str:
    """``text`` with URL passwords and every known secret value (the URL's, the environment's)
    replaced by ``***``: for anything shown or written."""
    for name in (ENV_PASSWORD, ENV_WALLET_PASSWORD):
        register_secret(os.environ.get(name))
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return mask_url_text(text)


def check_archive(engine: Engine) -> None:
    """Make sure the archive answers and holds every table and column restorekit reads.

    Raises
    ------
    ArchiveError
        Naming the database (without password) and the first thing that is missing.
    """
    with translate_errors(engine):
        with engine.connect() as conn:
            for table in schema.metadata.sorted_tables:
                try:
                    conn.execute(sa.select(*table.columns).where(sa.false()))
                except sa.exc.DBAPIError as exc:
                    raise ArchiveError(
                        f"the archive at {describe(engine)} has no usable table "
                        f"{table.name.upper()} as alma_schema.sql defines it "
                        f"({_driver_message(exc)})"
                    ) from None


@contextlib.contextmanager
def translate_errors(engine: Engine) -> Iterator[None]:
    """Turn driver errors into one-line :class:`ArchiveError` messages without passwords."""
    from pandas.errors import DatabaseError as PandasDatabaseError

    try:
        yield
    except sa.exc.DBAPIError as exc:
        raise ArchiveError(
            f"the archive at {describe(engine)} failed: {_driver_message(exc)}; "
            "check the URL, the network and the credentials (RESTOREKIT_DB_PASSWORD)"
        ) from None
    except PandasDatabaseError as exc:
        if isinstance(exc.__cause__, sa.exc.DBAPIError):  # not its SQL: the driver's words
            cause = _driver_message(exc.__cause__)
        else:
            cause = " ".join(str(exc.__cause__ or exc).split())
        missing = "no such table" in cause or "no such column" in cause
        raise ArchiveError(
            f"the database at {describe(engine)} "
            + (
                f"is not an ALMA archive as alma_schema.sql defines it ({mask_secrets(cause)})"
                if missing
                else f"failed: {mask_secrets(cause)[:300]}"
            )
        ) from None
    except OSError as exc:  # a name that does not resolve, a refused connection, ...
        raise ArchiveError(
            f"the archive at {describe(engine)} cannot be reached ({exc.strerror or exc}); "
            "check the host name and the network"
        ) from None


def _driver_message(exc: sa.exc.DBAPIError) -> str:
    message = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    return mask_secrets(message)[:300]


@dataclass
class RoundTrips:
    """Counts the statements an engine sends while it is attached (one per round trip)."""

    engine: Engine
    count: int = 0
    statements: list[str] = field(default_factory=list)

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.count += 1
        self.statements.append(statement)

    def __enter__(self) -> RoundTrips:
        sa.event.listen(self.engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc_info: object) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._on_execute)
