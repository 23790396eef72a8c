"""Puts views on the display: at the configured frame rate, only when the view changed.

The OLED shares the I2C bus with the sensor, so a failed frame is logged once
(`display_error`) and retried with the next one; it never stops the loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from luma.core.error import Error as LumaError
from PIL import Image

from kindpulse.config import DisplayConfig
from kindpulse.hardware.display import Display
from kindpulse.ui import screens

Emit = Callable[..., None]
OnFrame = Callable[[float, Image.Image], None]  # (device time s, the image shown)


class ScreenPresenter:
    """Draws views on an injected display at the config's frame rates."""

    def __init__(self, display: Display, config: DisplayConfig, emit: Emit,
                 on_frame: OnFrame | None = None) -> None:
        self.display, self.config = display, config
        self._emit, self._on_frame = emit, on_frame
        self._last_frame_s = -math.inf
        self._last_view: object = None
        self._failed = False

    def due(self, now: float, *, animating: bool) -> bool:
        """A frame is due (fps_break while ``animating``, else fps_idle); marks it taken."""
        fps = self.config.fps_break if animating else self.config.fps_idle
        if now - self._last_frame_s < 1.0 / fps - 1e-9:
            return False
        self._last_frame_s = now
        return True

    def show(self, now: float, view: object) -> None:
        if view == self._last_view:  # views are frozen dataclasses: same view, same pixels
            return
        image = screens.render(view)
        try:
            self.display.display(image)
        except (OSError, LumaError) as exc:  # the OLED shares the bus: a glitch must not stop the loop
            if not self._failed:
                self._emit("display_error", error=str(exc))
                self._failed = True
            return  # try again with the next frame
        self._failed = False
        self._last_view = view
        if self._on_frame is not None:
            self._on_frame(now, image)
