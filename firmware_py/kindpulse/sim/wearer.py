"""The emulated wearer: a heart that lives the scenario's day and answers the device.

The scenario gives the day as profiles of time (heart rate, RMSSD, breathing rate). The
wearer turns them into heartbeats one at a time, shortly before the emulated sensor needs
them, so what the device does can change the beats ahead: when a break starts and the
wearer follows the pacer, breathing moves to the pacer's rate, respiratory sinus arrhythmia
(RSA) grows at that frequency and heart rate eases; after the break the effect fades.

Magnitudes (../shared/reference/hrv-and-stress.md, section 5): slow breathing at about
6/min, immediate effects as standardised mean differences (Shao, Man & Lee 2024, 31
studies): RMSSD +0.37, SDNN +0.77, HR -0.10. With the population SDs of short-term HRV
(Nunan et al. 2010: RMSSD 42 +- 15 ms, mean RR 926 +- 90 ms, i.e. HR about +-6.3 bpm) that
is RMSSD +5.6 ms and HR -0.6 bpm; SDNN follows from the larger slow oscillation. Laborde et
al. 2022 (223 studies): the rise holds during the session and right after one; here it
fades with a time constant of FADE_TAU_S.

RR model per beat k (ms): RR_k = 60000 / HR(t) + s(t) * (g(t) sin(phi_k) + 0.6 sin(2 pi f_LF t + psi)
+ 0.35 a_k), with phi the breathing phase (advanced by 2 pi f_resp(t) RR per beat, 8 %
jitter), a_k an AR(1) process (0.6), and s(t) chosen so that the expected RMSSD at the
scenario's own breathing rate is RMSSD(t): the same process as `synth.rr_series`, in closed
form instead of normalised afterwards. While pacing, the RSA gain g solves the expected
RMSSD for RMSSD(t) + 5.6 ms x the follow weight at the paced breathing rate (the slow
oscillation needs a much larger amplitude for the same beat-to-beat change: resonance).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from kindpulse.observers import DeviceObserver

Profile = Callable[[float], float]

# Shao, Man & Lee 2024 SMDs x Nunan et al. 2010 population SDs
PACED_RMSSD_RISE_MS = 0.37 * 15.0
PACED_HR_EASE_BPM = 0.10 * (60000.0 / 926.0) * (90.0 / 926.0)
ENTRAIN_TAU_S = 15.0  # settling into the pacer: about one or two breaths
BREATH_RETURN_TAU_S = 10.0  # breathing goes back to its own rate soon after the pacer stops
FADE_TAU_S = 120.0  # the HRV after-effect fades over minutes
LF_AMPLITUDE = 0.6  # Mayer-wave oscillation, relative to the unit RSA
AR_COEF, AR_AMPLITUDE = 0.6, 0.35
RESP_JITTER = 0.08


@dataclass(frozen=True)
class WearerConfig:
    """How the wearer answers the device (a scenario's [wearer] section)."""

    follows_pacer: bool = True  # breathe with the pacer during breaks
    accept_after_s: float | None = None  # press the button this long after each prompt; None: never


@dataclass(frozen=True)
class Pacing:
    start_s: float
    rate_hz: float
    end_s: float = math.inf


def _diff_power(step_rad: float, jitter: float = 0.0) -> float:
    """E[(x_k - x_(k-1))^2] for a unit sinusoid sampled once a beat whose phase advances by
    step x (1 + jitter x N(0, 1)): 1 - cos(step) exp(-(jitter step)^2 / 2)."""
    return 1.0 - math.cos(step_rad) * math.exp(-0.5 * (jitter * step_rad) ** 2)


class Wearer:
    """The scenario's physiology plus the wearer's response to breaks; generates RR online.

    `on_break_start(t, rate_hz)` / `on_break_end(t)` are what the wearer observes of the
    device's session. `beats_until(t)` returns the new beat times (s) up to t.
    """

    def __init__(
        self,
        hr_bpm: Profile,
        rmssd_ms: Profile,
        resp_rate_hz: Profile,
        *,
        seed: int = 0,
        t0_s: float = 1.0,
        config: WearerConfig | None = None,
    ) -> None:
        self.hr_bpm, self.rmssd_ms, self.resp_rate_hz = hr_bpm, rmssd_ms, resp_rate_hz
        self.config = config or WearerConfig()
        self._rng = np.random.default_rng(seed)
        self._lf_phase = self._rng.uniform(0, 2 * np.pi)
        self._lf_hz = 0.1 * (1 + 0.05 * self._rng.standard_normal())
        self._phase = self._rng.uniform(0, 2 * np.pi)
        self._ar = 0.0
        self._t = t0_s  # time of the next beat
        self.pacings: list[Pacing] = []
        # the wearer's breathing, one knot a beat (for the PPG's respiratory modulation),
        # in buffers that double when full
        self._knots = np.empty((2, 1024))
        self._knots[:, 0] = (t0_s, self._phase)
        self._n_knots = 1

    @property
    def next_beat_s(self) -> float:
        """When the next beat not yet made will fall (s)."""
        return self._t

    # -- what the wearer observes -------------------------------------------------------
    def on_break_start(self, t_s: float, pace_rate_hz: float) -> None:
        if self.config.follows_pacer:
            self.pacings.append(Pacing(t_s, pace_rate_hz))

    def on_break_end(self, t_s: float) -> None:
        if self.pacings and self.pacings[-1].end_s == math.inf:
            p = self.pacings[-1]
            self.pacings[-1] = Pacing(p.start_s, p.rate_hz, t_s)

    # -- the physiology -------------------------------------------------------------------
    def _weights(self, t: float) -> tuple[float, float, float]:
        """(breathing entrainment 0..1, HRV effect 0..1, paced rate Hz) at time t."""
        breath = effect = 0.0
        rate = 0.1
        for p in self.pacings:
            if t < p.start_s:
                continue
            inside = 1.0 - math.exp(-(min(t, p.end_s) - p.start_s) / ENTRAIN_TAU_S)
            after = max(0.0, t - p.end_s)
            b = inside * math.exp(-after / BREATH_RETURN_TAU_S)
            e = inside * math.exp(-after / FADE_TAU_S)
            if e > effect:
                breath, effect, rate = b, e, p.rate_hz
        return breath, effect, rate

    def state(self, t: float) -> dict[str, float]:
        """Heart rate (bpm), target RMSSD (ms), breathing rate (Hz) and RSA gain at time t."""
        breath, effect, pace = self._weights(t)
        own_resp = self.resp_rate_hz(t)
        hr = self.hr_bpm(t) - PACED_HR_EASE_BPM * effect
        rr_s = 60.0 / hr
        resp = (1.0 - breath) * own_resp + breath * pace
        rest = LF_AMPLITUDE**2 * _diff_power(2 * math.pi * self._lf_hz * rr_s) + AR_AMPLITUDE**2 * 2.0 / (
            1.0 + AR_COEF
        )  # AR(1), unit innovations: E[diff^2] = 2/(1+a)
        unit = math.sqrt(_diff_power(2 * math.pi * own_resp * rr_s, RESP_JITTER) + rest)
        target = self.rmssd_ms(t) + PACED_RMSSD_RISE_MS * effect
        scale = self.rmssd_ms(t) / unit  # ms per unit of the deviation process
        rsa_power = (target / scale) ** 2 - rest if scale > 0 else 1.0
        gain = math.sqrt(max(rsa_power, 0.0) / max(_diff_power(2 * math.pi * resp * rr_s, RESP_JITTER), 1e-9))
        return {"hr_bpm": hr, "rmssd_ms": target, "resp_rate_hz": resp, "scale_ms": scale, "rsa_gain": gain}

    def beats_until(self, t_end: float) -> np.ndarray:
        """The beats from the last one generated up to t_end (s), as beat times."""
        out = []
        rng = self._rng
        while self._t <= t_end:
            t = self._t
            s = self.state(t)
            rr_s = 60.0 / s["hr_bpm"]
            self._phase += 2 * np.pi * s["resp_rate_hz"] * rr_s * (1 + RESP_JITTER * rng.standard_normal())
            self._ar = AR_COEF * self._ar + rng.standard_normal()
            d = (
                s["rsa_gain"] * math.sin(self._phase)
                + LF_AMPLITUDE * math.sin(2 * np.pi * self._lf_hz * t + self._lf_phase)
                + AR_AMPLITUDE * self._ar
            )
            rr_ms = min(2000.0, max(300.0, 1000.0 * rr_s + s["scale_ms"] * d))
            out.append(t)
            self._t = t + rr_ms / 1000.0
            self._knot(self._t, self._phase)
        return np.asarray(out, dtype=np.float64)

    def _knot(self, t: float, phase: float) -> None:
        if self._n_knots == self._knots.shape[1]:
            self._knots = np.concatenate([self._knots, np.empty_like(self._knots)], axis=1)
        self._knots[:, self._n_knots] = (t, phase)
        self._n_knots += 1

    def respiration(self, t_s: np.ndarray) -> np.ndarray:
        """The wearer's breathing (unit sinusoid of its phase) at the given times."""
        t = np.asarray(t_s, dtype=np.float64)
        kt, kp = self._knots[0, : self._n_knots], self._knots[1, : self._n_knots]
        if t.size == 0:
            return np.zeros_like(t)
        lo = max(int(np.searchsorted(kt, t.min())) - 1, 0)  # only the knots the times need
        hi = int(np.searchsorted(kt, t.max())) + 1
        return np.sin(np.interp(t, kt[lo:hi], kp[lo:hi]))


class WearerAtTheDevice(DeviceObserver):
    """The wearer's side of the loop, as an observer of the device: sees the session's events
    (prompt, break_start, break_end) and presses the button through `press(t_s)`, which the
    simulated rig connects to its emulated button.

    `pace_rate_hz` is the break's pacer rate (1 / (inhale + exhale) of the device's config).
    """

    def __init__(self, wearer: Wearer, pace_rate_hz: float,
                 press: Callable[[float], None] | None = None) -> None:
        self.wearer, self.pace_rate_hz, self.press = wearer, pace_rate_hz, press

    def on_event(self, event: dict) -> None:
        kind, t = event.get("type"), float(event.get("t", 0.0))
        if kind == "prompt" and self.wearer.config.accept_after_s is not None and self.press is not None:
            self.press(t + self.wearer.config.accept_after_s)
        elif kind == "break_start":
            self.wearer.on_break_start(t, self.pace_rate_hz)
        elif kind == "break_end":
            self.wearer.on_break_end(t)
