"""Hooks for parts that watch the device loop (a systemd notifier, a simulated wearer...).

Pass instances to a rig (`observers=`); `Device` calls them. Override what you need.
"""

from __future__ import annotations

from typing import Any

from kindpulse.ui.state import ScreenState


class DeviceObserver:
    """`on_event` gets every logged event (dict with t, type), `on_turn` the screen state after
    every turn of the loop, `on_stop` is called once as shutdown begins."""

    def on_event(self, event: dict[str, Any]) -> None:
        """Every event, as logged."""

    def on_turn(self, state: ScreenState) -> None:
        """After each turn of the loop."""

    def on_stop(self) -> None:
        """Shutdown begins."""
