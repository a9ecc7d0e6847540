"""Command line: ``python -m mammorepro <command>``.

    run NOTEBOOK [--profile P] [-p NAME VALUE ...] [--output DIR]   execute one notebook
    run --all [--profile P]                                          execute every notebook
    models                                                           list registered models

Bad input ends with one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mammorepro.errors import MammoreproError


def _run(args) -> int:
    from mammorepro import notebooks

    names = list(notebooks.NOTEBOOKS) if args.all else [args.notebook]
    if not args.all and not args.notebook:
        raise MammoreproError("name a notebook (e.g. 00_tour) or pass --all")
    params = {name: notebooks.parse_value(value) for name, value in (args.param or [])}
    if args.profile:
        params["profile"] = args.profile
    for name in names:
        t0 = time.perf_counter()
        out = notebooks.execute(name, params, Path(args.output) if args.output else None, log_output=args.verbose)
        print(f"{name}: executed in {time.perf_counter() - t0:.0f} s -> {out}")
    return 0


def _models(_args) -> int:
    from mammorepro.models import list_models

    for name, description in list_models().items():
        print(f"{name:20s} {description}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mammorepro", description="mammorepro replication book")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute a notebook with papermill (parameters checked first)")
    run.add_argument("notebook", nargs="?", help="notebook name, e.g. 00_tour")
    run.add_argument("--all", action="store_true", help="execute every notebook of the book")
    run.add_argument("--profile", choices=["smoke", "default", "full"], help="profile (default: the notebook's)")
    run.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"), help="a notebook parameter")
    run.add_argument("--output", help="folder for executed notebooks (default book/executed)")
    run.add_argument("--verbose", action="store_true", help="stream the notebook's output")
    run.set_defaults(func=_run)
    models = sub.add_parser("models", help="list the registered models")
    models.set_defaults(func=_models)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except MammoreproError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
