"""Command line: argument parsing only. Each subcommand lives in its own module that
exposes `add_parser(subparsers)` and `run(args) -> int`."""

from __future__ import annotations

import argparse
import importlib
import math
import sys

from kindpulse import __version__
from kindpulse.errors import KindpulseError

# subcommand -> module that implements it
COMMANDS: dict[str, str] = {
    "analyze": "kindpulse.analyze",
    "sim": "kindpulse.simulate",
    "run": "kindpulse.daemon",
    "doctor": "kindpulse.doctor",
}


def positive_number(option: str):
    """argparse type: a finite number > 0, else a one-line error naming the option."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} must be a number, got {text!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"{option} must be positive, got {text!r}")
        return value

    return parse


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        self.exit(2, f"kindpulse: {message} (see 'kindpulse {self._sub_name()} --help')\n")

    def _sub_name(self) -> str:
        parts = self.prog.split()
        return parts[1] if len(parts) > 1 else ""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kindpulse", description="kindpulse: notice stress early, make the kind pause easy.")
    parser.add_argument("--version", action="version", version=f"kindpulse {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in COMMANDS.values():
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
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
