"""One module per subcommand, each with `add_parser(subparsers)` and `run(args) -> int`.

`COMMANDS` is data: the CLI imports only the module of the command it runs, so
`kindpulse analyze` does not pay for the daemon's imports.
"""

from __future__ import annotations

# name -> (module, one-line help): the one place each command's help text lives; the modules'
# add_parser() take theirs from here (`help_for`).
COMMANDS: dict[str, tuple[str, str]] = {
    "analyze": ("kindpulse.commands.analyze",
                "beats, NN intervals, quality and HRV of a PPG or IBI recording"),
    "sim": ("kindpulse.commands.sim", "the whole device on emulated hardware"),
    "run": ("kindpulse.commands.run", "the daemon on real hardware (--sim: on emulated hardware)"),
    "doctor": ("kindpulse.commands.doctor", "check I2C, sensor, OLED, motor and button; say what to fix"),
    "export": ("kindpulse.commands.export", "the log as records with a stable identity (jsonl or csv)"),
    "sync": ("kindpulse.commands.sync", "pull a device's log over SSH into DEST/<device id>/"),
}


def help_for(name: str) -> str:
    """The one-line help of command ``name``."""
    return COMMANDS[name][1]
