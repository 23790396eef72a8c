"""One module per subcommand, each with `add_parser(subparsers)` and `run(args) -> int`.

`COMMANDS` is data: the CLI imports only the module of the command it runs, so
`kindpulse analyze` does not pay for the daemon's imports.
"""

from __future__ import annotations

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "analyze": ("kindpulse.commands.analyze", "batch HRV of a PPG or IBI recording"),
    "sim": ("kindpulse.commands.sim", "the whole device on emulated hardware"),
    "run": ("kindpulse.commands.run", "the daemon on real hardware (--sim: on emulated hardware)"),
    "doctor": ("kindpulse.commands.doctor", "check the wiring, I2C, sensor, motor and button"),
    "export": ("kindpulse.commands.export", "the log as records with a stable identity (jsonl or csv)"),
    "sync": ("kindpulse.commands.sync", "pull a device's log over SSH into DEST/<device id>/"),
}
