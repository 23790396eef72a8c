"""Command line: dispatch only. Each subcommand lives in `kindpulse.commands.<name>`, which owns
its arguments (`add_parser`) and its work (`run`); only the chosen command's module is imported.

`main` is the one place where failures become what the user sees:

* an expected failure (`KindpulseError`: bad file, config, scenario or argument; a file the
  command cannot read or write) is one line on stderr and exit code 2;
* anything else is a bug: one line naming it, a pointer to ``--verbose`` for the
  traceback, exit code 1;
* a closed pipe (``kindpulse analyze ... | head``) ends the command quietly (exit 141,
  like a Unix tool stopped by SIGPIPE); Ctrl-C is exit 130.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys

from kindpulse import __version__
from kindpulse.commands import COMMANDS
from kindpulse.errors import KindpulseError

EXIT_BROKEN_PIPE = 128 + 13  # SIGPIPE


_VERBOSE_HELP = "on an unexpected error, print the full traceback"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        self.exit(2, f"kindpulse: {message} (see 'kindpulse {self._sub_name()} --help')\n")

    def _sub_name(self) -> str:
        parts = self.prog.split()
        return parts[1] if len(parts) > 1 else ""


def _chosen(argv: list[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with argv, only the command it names gets its full arguments (and its imports)."""
    parser = _Parser(prog="kindpulse",
                     description="kindpulse: notice stress early, make the kind pause easy.")
    parser.add_argument("--version", action="version", version=f"kindpulse {__version__}")
    parser.add_argument("--verbose", action="store_true", help=_VERBOSE_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    chosen = _chosen(argv) if argv is not None else None
    for name, (module, help_) in COMMANDS.items():
        if argv is None or name == chosen:
            importlib.import_module(module).add_parser(sub)
            p = sub.choices[name]
            if "--verbose" not in p._option_string_actions:  # after the command too
                p.add_argument("--verbose", action="store_true", help=_VERBOSE_HELP)
        else:
            sub.add_parser(name, help=help_)
    return parser


def _quiet_stdout() -> None:
    """After a closed pipe: point stdout at /dev/null so the interpreter's final flush is silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout replaced (tests) or already closed
        pass


def _lean_numba() -> None:
    """A whole `kindpulse analyze` process: numba's import checks scipy's version (importing
    scipy, 0.015 s), its first dispatch probes for scipy's BLAS (for np.dot and friends inside
    kernels) by importing scipy.linalg, a third of numba's start-up (about 0.3 s), and it scans
    every installed distribution for numba extensions (0.05 s). No kindpulse kernel does linear
    algebra or uses an extension, and kindpulse does not use scipy, so this process skips all
    three. Only for the process entry (argv from the command line), never for callers of
    `main` in a larger process, which may need scipy or an extension."""
    if "numba" not in sys.modules and "scipy" not in sys.modules:
        sys.modules["scipy"] = None  # type: ignore[assignment]  # import -> ImportError
    import numba.core.entrypoints

    numba.core.entrypoints._already_initialized = True


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _exit_now(code: int) -> None:
    """End a whole `kindpulse analyze` process here, without the interpreter's teardown: with
    numba's ~600 modules and llvmlite's compiled code loaded, unwinding them takes 0.2-0.3 s,
    a quarter of the command, and analyze has nothing left to finish (its one output, stdout,
    is flushed first; it writes no files)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing can reach it
            stream.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    """Run the command named in argv (default sys.argv[1:]); returns the exit code."""
    entry = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    command = _chosen(argv) or ""
    lean = entry and command == "analyze"
    if lean:
        _lean_numba()
    code = _run(argv, command)
    if lean:
        _exit_now(code)
    return code


def _run(argv: list[str], command: str) -> int:
    verbose = "--verbose" in argv or "-v" in argv
    try:
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        code = int(args.run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return code
    except KindpulseError as exc:
        print(f"kindpulse {command}: {_one_line(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        return 130
    except SystemExit:
        raise
    except Exception as exc:  # a bug: say so in one line, the traceback on request
        if verbose:
            import traceback

            traceback.print_exc()
        where = f" ({_one_line(exc)})" if str(exc) else ""
        print(f"kindpulse {command}: internal error {type(exc).__name__}{where}; this is a bug: run again "
              "with --verbose for the traceback and report it", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
