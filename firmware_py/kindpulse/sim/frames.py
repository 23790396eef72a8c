"""What the emulated OLED showed: frames kept for the GIF, and the OLED drawn in a terminal.

Memory stays flat however long the simulation runs: a frame is kept as the OLED's 1-bit
pixels packed 8 to a byte (1 KB for 128x64), identical frames share one buffer, at most
`max_frames` are kept (thinned evenly when full), and the GIF is encoded one frame at a
time on saving, so no list of full-size images ever exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import GifImagePlugin, Image

GIF_SCALE = 2  # 128x64 OLED -> 256x128 GIF pixels


class FrameRecorder:
    """Keeps OLED frames for the GIF: every change during prompts and breaks, else at most one
    per `idle_every_s`."""

    def __init__(self, idle_every_s: float = 5.0, max_frames: int = 3000) -> None:
        self.idle_every_s = idle_every_s
        self.max_frames = max_frames
        self.times: list[float] = []
        self.frames: list[bytes] = []  # packed 1-bit pixels, row-major
        self.size: tuple[int, int] | None = None  # (width, height) of the OLED
        self._unique: dict[bytes, bytes] = {}  # pixels -> the one shared buffer
        self._last_t = -np.inf

    def add(self, t: float, image: Any, busy: bool) -> None:
        if not busy and t - self._last_t < self.idle_every_s:
            return
        if len(self.frames) >= self.max_frames:  # thin out evenly rather than stop recording
            self.times, self.frames = self.times[::2], self.frames[::2]
            self._unique = {f: f for f in self.frames}
            self.idle_every_s *= 2
        px = np.asarray(image.convert("1"), dtype=bool)
        self.size = (px.shape[1], px.shape[0])
        packed = np.packbits(px).tobytes()
        self.frames.append(self._unique.setdefault(packed, packed))
        self.times.append(t)
        self._last_t = t

    @property
    def unique_frames(self) -> int:
        return len(self._unique)

    def image(self, i: int, scale: int = 1) -> Image.Image:
        """Frame i as an 8-bit greyscale image, each OLED pixel `scale` x `scale`."""
        assert self.size is not None
        w, h = self.size
        px = np.unpackbits(np.frombuffer(self.frames[i], dtype=np.uint8), count=w * h).reshape(h, w)
        if scale > 1:
            px = px.repeat(scale, axis=0).repeat(scale, axis=1)
        return Image.fromarray(px * np.uint8(255), mode="L")

    def save_gif(self, path: Path, end_t: float, speed: float = 20.0) -> int:
        """Animated GIF, encoded frame by frame; each frame lasts its device time divided by
        `speed`, 80 ms to 2 s."""
        if not self.frames:
            return 0
        times = [*self.times, end_t]
        durations = [
            int(min(2000, max(80, 1000 * (b - a) / speed))) for a, b in zip(times, times[1:], strict=False)
        ]
        with Path(path).open("wb") as f:
            first = self.image(0, GIF_SCALE).convert("P")
            header, _ = GifImagePlugin.getheader(first, info={"loop": 0})
            for chunk in header:
                f.write(chunk)
            f.write(b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00")  # loop forever
            for i, duration in enumerate(durations):
                frame = first if i == 0 else self.image(i, GIF_SCALE).convert("P")
                for chunk in GifImagePlugin.getdata(frame, duration=duration):
                    f.write(chunk)
            f.write(b";")
        return len(self.frames)


def terminal_frame(image: Any) -> str:
    """The 128x64 OLED as 32 lines of Unicode half blocks."""
    px = np.asarray(image.convert("1"), dtype=bool)
    chars = {(False, False): " ", (True, False): "\u2580", (False, True): "\u2584", (True, True): "\u2588"}
    lines = [
        "".join(chars[(bool(px[r, c]), bool(px[r + 1, c]))] for c in range(px.shape[1]))
        for r in range(0, px.shape[0] - 1, 2)
    ]
    border = "+" + "-" * px.shape[1] + "+"
    return "\n".join([border, *("|" + line + "|" for line in lines), border])
