"""``python -m restorekit``: the command line."""

from restorekit.frontends.cli import main

raise SystemExit(main())
