"""The GIF recorder: compact frames, bounded count, a GIF that shows exactly what the OLED showed."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from kindpulse.sim.frames import GIF_SCALE, FrameRecorder


def _screen(i: int) -> Image.Image:
    im = Image.new("1", (128, 64))
    ImageDraw.Draw(im).rectangle((i % 100, 5, i % 100 + 20, 40 + i % 20), fill=1)
    return im


def test_gif_holds_every_kept_frame_pixel_for_pixel_with_its_duration(tmp_path):
    rec = FrameRecorder()
    shown = [_screen(i * 7) for i in range(6)] + [_screen(0)]
    for k, im in enumerate(shown):
        rec.add(float(k), im, busy=True)
    assert rec.unique_frames == 6 and len(rec.frames) == 7  # the repeated screen shares its buffer
    assert all(len(f) == 128 * 64 // 8 for f in rec.frames)
    assert rec.save_gif(tmp_path / "f.gif", end_t=10.0, speed=1.0) == 7
    gif = Image.open(tmp_path / "f.gif")
    assert gif.n_frames == 7 and gif.info["loop"] == 0
    for k, want in enumerate(shown):
        gif.seek(k)
        got = np.asarray(gif.convert("L"))[::GIF_SCALE, ::GIF_SCALE] > 127
        assert np.array_equal(got, np.asarray(want)), k
        assert gif.info["duration"] == (2000 if k == 6 else 1000)  # 4 s clipped to 2 s


def test_frames_stay_bounded_and_evenly_thinned_over_a_long_run():
    rec = FrameRecorder(idle_every_s=5.0, max_frames=100)
    for k in range(5000):  # one idle frame a second for 83 min
        rec.add(float(k), _screen(k), busy=False)
    assert len(rec.frames) <= 100
    gaps = np.diff(rec.times)
    assert gaps.min() >= 5.0 and gaps.max() <= 80.0 and rec.times[-1] >= 4900
