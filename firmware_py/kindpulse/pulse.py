"""From the link's batches to beats, NN intervals, heart rate and the debounced signal state.

`PulseFeed` owns the streaming DSP (`dsp.pipeline.PPGStream`, built at the first batch and
again if the sample rate changes) and the `SignalState`. It logs raw PPG and NN intervals to
the injected store, announces `samples_lost`, `first_beat`, `signal_ok` / `signal_lost`, and
hands final NN intervals on (`on_nn`, the stress monitor). Times are device seconds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from kindpulse.dsp.pipeline import PPGStream, StreamUpdate
from kindpulse.hardware.max30102 import FifoBatch
from kindpulse.signal_state import SignalState
from kindpulse.store.db import Store
from kindpulse.stress.rolling import SignalQuality

# The sensor's polarity is known (inverted), so the stream needs only enough signal to
# size its first threshold: the first beat shows within about 2 s of the finger arriving.
STREAM_WARMUP_S = 1.5

Emit = Callable[..., None]
OnNN = Callable[[np.ndarray, np.ndarray], None]  # (end times s, lengths ms)


class PulseFeed:
    """Batches in; NN intervals out to ``on_nn``; `hr_bpm`, `signal` and `quality()` for the rest."""

    def __init__(self, *, store: Store, emit: Emit, on_nn: OnNN) -> None:
        self._store, self._emit, self._on_nn = store, emit, on_nn
        self.signal = SignalState()
        self.stream: PPGStream | None = None
        self.hr_bpm: float | None = None
        self._stream_t0 = 0.0  # device time of the stream's first sample
        self._first_beat = False

    def feed(self, now: float, batch: FifoBatch, full_scale_counts: int) -> None:
        """One drained batch at device time ``now`` (its last sample)."""
        fs = batch.output_rate_sps
        lost = batch.lost
        if self.stream is None or fs != self.stream.fs:
            self.stream = PPGStream(fs, invert=True, full_scale=float(full_scale_counts),
                                    warmup_s=STREAM_WARMUP_S)
            self._stream_t0 = now - len(batch) / fs
            lost = 0  # a fresh stream starts here: nothing before it to keep apart
        if lost:
            self._emit("samples_lost", count=lost)
        if len(batch) == 0 and not lost:
            return
        ir = batch.ir if batch.ir.size else batch.red  # HR mode has the red LED only
        self._store.ppg(now - len(batch) / fs, fs, ir, batch.red, lost)
        x = np.asarray(ir, dtype=np.float64)
        # Lost samples sit before sample `lost_at`: push the part before them, then the rest.
        at = min(batch.lost_at, x.size) if lost else 0
        if at:
            self._consume(now, self.stream.push(x[:at]))
        self._consume(now, self.stream.push(x[at:], lost_before=lost))

    def no_sensor(self, now: float) -> None:
        """The sensor is down: no finger, no signal."""
        self._signal(now, present=False, usable=False, motion=False)

    def flush(self, now: float) -> None:
        """Finish the stream's pending beats (shutdown)."""
        if self.stream is not None:
            self._consume(now, self.stream.flush())

    def quality(self, now: float) -> SignalQuality:
        return SignalQuality(usable=self.signal.usable, motion=self.signal.moving(now),
                             finger_present=self.signal.present)

    def _consume(self, now: float, update: StreamUpdate) -> None:
        offset = self._stream_t0  # stream time 0 is this device time
        if len(update.beats_s) and not self._first_beat:
            self._first_beat = True
            self._emit("first_beat", at_s=round(float(update.beats_s[0]) + offset, 3))
        if len(update.nn_ms):
            nn_t = np.asarray(update.nn_t_s) + offset
            self._on_nn(nn_t, update.nn_ms)
            self._store.nn(nn_t, update.nn_ms)
        if update.hr_bpm is not None:
            self.hr_bpm = update.hr_bpm
        if update.blocks == 0:
            return
        present = "no_signal" not in update.issues
        usable = update.good_blocks * 2 >= update.blocks
        self._signal(now, present=present, usable=usable, motion="motion" in update.issues)

    def _signal(self, now: float, *, present: bool, usable: bool, motion: bool) -> None:
        for type_, data in self.signal.update(now, present=present, usable=usable, motion=motion):
            self._emit(type_, **data)
