"""Command line: dispatch only. Each subcommand lives in `kindpulse.commands.<name>`, which owns
its arguments (`add_parser`) and its work (`run`); only the chosen command's module is imported."""

from __future__ import annotations

import argparse
import importlib
import sys

from kindpulse import __version__
from kindpulse.commands import COMMANDS
from kindpulse.errors import KindpulseError


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
    parser = _Parser(prog="kindpulse", description="kindpulse: notice stress early, make the kind pause easy.")
    parser.add_argument("--version", action="version", version=f"kindpulse {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    chosen = _chosen(argv) if argv is not None else None
    for name, (module, help_) in COMMANDS.items():
        if argv is None or name == chosen:
            importlib.import_module(module).add_parser(sub)
        else:
            sub.add_parser(name, help=help_)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except KindpulseError as exc:
        print(f"kindpulse {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
