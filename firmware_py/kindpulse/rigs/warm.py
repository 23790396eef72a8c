"""Load the numba kernels before the loop starts (compile them, with a cold cache).

`kindpulse run` calls this before the device's first turn, so under systemd it happens before
READY=1: systemd arms the watchdog only once start-up is complete, so a cold cache (minutes of
compiling on a Pi Zero 2 W) counts against TimeoutStartSec and never trips the watchdog. With
the cache the installer warmed, it takes about a second.
"""

from __future__ import annotations

import numpy as np

from kindpulse.dsp.hrv import hrv_metrics
from kindpulse.dsp.pipeline import PPGStream
from kindpulse.sim import synth

WARM_S = 70.0  # long enough for NN intervals past the artefact look-ahead and a 60-s HRV window


def load_kernels(fs_hz: float = 100.0, full_scale: float = 2.0**18 - 1) -> int:
    """Run every kernel the daemon uses once on 70 s of synthetic finger PPG; returns the NN count."""
    beats = synth.beat_times(synth.rr_series(WARM_S + 5.0, seed=0))
    x = synth.SyntheticPPG(beats, seed=0).ir(np.arange(0.0, WARM_S, 1.0 / fs_hz))
    stream = PPGStream(fs_hz, invert=True, full_scale=full_scale, warmup_s=1.5)
    update = stream.push(x)
    stream.flush()
    hrv_metrics(update.nn_t_s, update.nn_ms)
    return len(update.nn_ms)
