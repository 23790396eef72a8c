"""What the emulated OLED showed: frames kept for the GIF, and the OLED drawn in a terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


class FrameRecorder:
    """Keeps OLED frames for the GIF: every change during prompts and breaks, else at most one per `idle_every_s`."""

    def __init__(self, idle_every_s: float = 5.0, max_frames: int = 3000) -> None:
        self.idle_every_s = idle_every_s
        self.max_frames = max_frames
        self.frames: list[tuple[float, Any]] = []
        self._last_t = -np.inf

    def add(self, t: float, image: Any, busy: bool) -> None:
        if not busy and t - self._last_t < self.idle_every_s:
            return
        if len(self.frames) >= self.max_frames:
            self.frames = self.frames[::2]  # thin out evenly rather than stop recording
            self.idle_every_s *= 2
        self.frames.append((t, image.copy()))
        self._last_t = t

    def save_gif(self, path: Path, end_t: float, speed: float = 20.0) -> int:
        """Animated GIF; each frame lasts its device time divided by `speed`, 80 ms to 2 s."""
        if not self.frames:
            return 0
        images = [img.convert("L").resize((256, 128)) for _, img in self.frames]
        times = [t for t, _ in self.frames] + [end_t]
        durations = [int(min(2000, max(80, 1000 * (b - a) / speed))) for a, b in zip(times, times[1:], strict=False)]
        images[0].save(path, save_all=True, append_images=images[1:], duration=durations, loop=0, optimize=False)
        return len(images)


def terminal_frame(image: Any) -> str:
    """The 128x64 OLED as 32 lines of Unicode half blocks."""
    px = np.asarray(image.convert("1"), dtype=bool)
    chars = {(False, False): " ", (True, False): "\u2580", (False, True): "\u2584", (True, True): "\u2588"}
    lines = ["".join(chars[(bool(px[r, c]), bool(px[r + 1, c]))] for c in range(px.shape[1]))
             for r in range(0, px.shape[0] - 1, 2)]
    border = "+" + "-" * px.shape[1] + "+"
    return "\n".join([border, *("|" + line + "|" for line in lines), border])
