"""The ``restorekit`` command line.

Every failure a user can cause ends in one line on stderr (``restorekit: error: ...``) and an exit
status: 2 bad input, 1 environment (database, network, files), 3 not restorable. ``--debug``
shows the traceback of an unexpected failure.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from restorekit.errors import RestorekitError
from restorekit.frontends import render
from restorekit.frontends.parser import build_parser
from restorekit.frontends.render import printable


def main(argv: Sequence[str] | None = None) -> int:
    import logging

    from restorekit.sources.archive import mask_secrets

    parser = build_parser()
    logger = logging.getLogger("restorekit")
    if not logger.handlers:  # notes from the library, one line each on stderr
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("restorekit: note: %(message)s"))
        handler.setLevel(logging.WARNING)  # details go to the run log of the area
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    words = list(sys.argv[1:] if argv is None else argv)
    # --debug and --wide are accepted anywhere on the line, not only before the command.
    debug, render.wide = "--debug" in words, "--wide" in words
    args = parser.parse_args([w for w in words if w not in ("--debug", "--wide")])
    args.debug = debug
    try:
        return args.handler(args)
    except RestorekitError as exc:
        print(f"restorekit: error: {printable(mask_secrets(str(exc)))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("restorekit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: say so in one line unless asked for more
        if args.debug:
            raise
        message = printable(mask_secrets(" ".join(str(exc).split())))[:300]
        print(
            f"restorekit: internal error: {type(exc).__name__}: {message} "
            "(rerun with --debug for the traceback, and report it)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
