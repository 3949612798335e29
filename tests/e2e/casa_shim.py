"""``casa --nogui --pipeline -c FILE [ARGS]`` for a pip-installed CASA: what the tests put in
``$CASA`` so that ``run_restore.sh`` runs as it would at a site."""

import runpy
import sys


def main() -> None:
    argv = sys.argv[1:]
    if "-c" not in argv:
        sys.exit("casa shim: only '-c FILE' is supported")
    script = argv[argv.index("-c") + 1]
    import casashell

    casashell.argv = ["casa", *argv]  # runpipeline.py reads its PPR from here
    import pipeline

    namespace = {"__name__": "__main__"}
    pipeline.initcli(namespace)
    sys.argv = [script, *argv[argv.index("-c") + 2 :]]
    runpy.run_path(script, init_globals=namespace, run_name="__main__")


if __name__ == "__main__":
    main()
