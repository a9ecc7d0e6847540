"""Command line: ``python -m mammorepro <command>``.

    run NOTEBOOK [--profile P] [-p NAME VALUE ...] [--overwrite]    execute one notebook
    run --all [--profile P] [--jobs N]                               execute every notebook (N at a time)
    models                                                           list registered models
    readme [--check]                                                 regenerate (or check) the README's results section
    claims [--check] [--results-root R]                              recompute (or check) every result folder's claims.json
    pages [--check]                                                  render (or check) the reproducibility reports from templates
    check-book [SITE] [--screenshots DIR]                            broken images/links and tracebacks in the built book
    data check DATASET [--root PATH] [--quick]                       integrity report of a dataset copy
    data phantom DATASET DEST [-n N]                                 write phantom cases in DATASET's layout

Bad input ends with one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import sys
import time
from pathlib import Path

from mammorepro.errors import MammoreproError
from mammorepro.config import PROFILES as PROFILE_NAMES


def _run(args) -> int:
    from mammorepro import notebooks

    names = list(notebooks.NOTEBOOKS) if args.all else [args.notebook]
    if not args.all and not args.notebook:
        raise MammoreproError("name a notebook (e.g. 00_tour) or pass --all")
    for name in names:
        notebooks.notebook_path(name)
    params = notebooks.absolute_paths(notebooks.parse_parameters(names, [tuple(p) for p in (args.param or [])]))
    if args.profile:
        params["profile"] = args.profile
    if args.overwrite:
        params["overwrite"] = True
    per_notebook = {}
    for name in names:  # every notebook's parameters are checked before the first one runs
        own = {k: v for k, v in params.items() if k in notebooks.notebook_parameters(name)}
        notebooks.check_parameters(name, own)
        per_notebook[name] = own
    t0 = time.perf_counter()
    notebooks.execute_all(per_notebook, args.jobs, Path(args.output) if args.output else None, args.verbose, report=lambda line: print(line, flush=True))
    if len(names) > 1:
        print(f"{len(names)} notebooks executed in {time.perf_counter() - t0:.0f} s", flush=True)
    return 0


def _models(_args) -> int:
    from mammorepro.models import list_models

    for name, description in list_models().items():
        print(f"{name:20s} {description}")
    return 0


def _readme(args) -> int:
    from mammorepro.notebooks import REPO
    from mammorepro.report.readme import update

    current = update(REPO / "README.md", REPO / "results", check=args.check)
    if args.check and not current:
        print("error: README.md's results section is stale: run `python -m mammorepro readme` and commit it", file=sys.stderr)
        return 1
    print("README.md's results section is current" if current else "README.md's results section rewritten from results/")
    return 0


def _stale(paths: list, what: str, command: str) -> int:
    """The ``--check`` answer of a generator: one error line per stale file, exit 1 if any."""
    for path in paths:
        print(f"error: {path}{what} is stale: run `python -m mammorepro {command}` and commit it", file=sys.stderr)
    return 1 if paths else 0


def _claims(args) -> int:
    from mammorepro.chapters import refresh_claims
    from mammorepro.notebooks import REPO

    root = Path(args.results_root) if args.results_root else REPO / "results"
    folders = refresh_claims(root, check=args.check)
    if args.check:
        return _stale(folders, "/claims.json", "claims")  # a missing one is stale too
    print(f"claims.json rewritten in {len(folders)} result folder(s) from their metrics.json and per_case.csv")
    return 0


def _pages(args) -> int:
    from mammorepro.chapters import build_pages
    from mammorepro.notebooks import REPO

    stale = build_pages(REPO, check=args.check)
    if args.check:
        return _stale(stale, "", "pages")
    print(f"{len(stale)} reproducibility page(s) rewritten from their templates and results/" if stale else "every reproducibility page is current")
    return 0


def _check_book(args) -> int:
    from mammorepro.notebooks import REPO
    from mammorepro.report.site_check import check_site, screenshots

    site = Path(args.site) if args.site else REPO / "_build" / "html"
    problems = check_site(site)
    for line in problems:
        print(line)
    print(f"{len(problems)} problem(s) in {site}")
    if args.screenshots:
        made = screenshots(site, args.screenshots, args.page or None)
        print(f"{len(made)} screenshot(s) at 1280 px in {args.screenshots}")
    return 1 if problems else 0


def _data_check(args) -> int:
    from mammorepro.data.check import check, scan

    report = check(scan(args.dataset, args.root), deep=not args.quick, workers=args.workers, progress=not args.no_progress)
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


def _data_phantom(args) -> int:
    from mammorepro.data.check import loader

    dest = Path(args.dest)  # the writer refuses anything but a new or empty folder
    out = loader(args.dataset).write_phantom(dest, n=args.n, seed=args.seed)
    print(f"wrote {args.n} phantom cases in the {args.dataset} layout to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from mammorepro.data.check import LOADERS

    parser = argparse.ArgumentParser(prog="python -m mammorepro", description="mammorepro replication book")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute a notebook with papermill (parameters checked first)")
    run.add_argument("notebook", nargs="?", help="notebook name, e.g. 00_tour")
    run.add_argument("--all", action="store_true", help="execute every notebook of the book")
    run.add_argument("--profile", choices=list(PROFILE_NAMES), help="profile (default: the notebook's)")
    run.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"), help="a notebook parameter")
    run.add_argument("--output", help="folder for executed notebooks (default book/executed)")
    run.add_argument("--verbose", action="store_true", help="stream the notebook's output")
    run.add_argument("--overwrite", action="store_true", help="replace a result folder made with other parameters (same chapter, dataset and profile)")
    run.add_argument("--jobs", type=int, default=1, help="notebooks executed at once (each kernel gets cpu_count / jobs threads)")
    run.set_defaults(func=_run)
    models = sub.add_parser("models", help="list the registered models")
    models.set_defaults(func=_models)
    readme = sub.add_parser("readme", help="regenerate the README's results section from results/")
    readme.add_argument("--check", action="store_true", help="only check it is current (exit 1 if not)")
    readme.set_defaults(func=_readme)
    cl = sub.add_parser("claims", help="recompute every result folder's claims.json with its chapter's claims()")
    cl.add_argument("--check", action="store_true", help="only check they are current (exit 1 if not)")
    cl.add_argument("--results-root", help="results folder (default: the repository's results/)")
    cl.set_defaults(func=_claims)
    pg = sub.add_parser("pages", help="render the reproducibility reports from their templates, profiles and results/")
    pg.add_argument("--check", action="store_true", help="only check they are current (exit 1 if not)")
    pg.set_defaults(func=_pages)
    cb = sub.add_parser("check-book", help="open every page of the built book: broken images and links, tracebacks in outputs; screenshots")
    cb.add_argument("site", nargs="?", help="the built HTML (default _build/html)")
    cb.add_argument("--screenshots", help="folder for 1280 px screenshots (needs a headless Chromium)")
    cb.add_argument("--page", action="append", help="only these pages for screenshots (e.g. book/executed/claims.html)")
    cb.set_defaults(func=_check_book)
    data = sub.add_parser("data", help="dataset tools").add_subparsers(dest="data_command", required=True)
    chk = data.add_parser("check", help="integrity report: counts and every defect as one line (exit 1 if any)")
    chk.add_argument("dataset", choices=list(LOADERS))
    chk.add_argument("--root", help="dataset folder (default: $MAMMOREPRO_<DATASET> or $MAMMOREPRO_DATA/<dataset>)")
    chk.add_argument("--quick", action="store_true", help="index-level checks only (no pixel reads)")
    chk.add_argument("--workers", type=int, default=4)
    chk.add_argument("--no-progress", action="store_true")
    chk.set_defaults(func=_data_check)
    ph = data.add_parser("phantom", help="write phantom cases in a real dataset's layout")
    ph.add_argument("dataset", choices=list(LOADERS))
    ph.add_argument("dest")
    ph.add_argument("-n", type=int, default=20)
    ph.add_argument("--seed", type=int, default=0)
    ph.set_defaults(func=_data_phantom)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except MammoreproError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted: a result folder being written is left as it was (a partial run never replaces it); run the command again to resume", file=sys.stderr)
        return 130
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            print(f"error: no space left on the device writing {exc.filename or 'a file'}: free some space, or point results_root or MAMMOREPRO_CACHE at another disk", file=sys.stderr)
            return 2  # a path that is not what it should be (a file for a folder, no permission)
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
