"""Causal Butterworth band-pass filter whose state carries across chunks.

NeuroKit2's ``ppg_clean`` (method ``elgendi``) uses a 2nd-order 0.5-8 Hz Butterworth
band-pass applied forwards and backwards (``scipy.signal.sosfiltfilt``): zero phase but
non-causal, so it cannot run on a stream. This module designs the same band-pass as
second-order sections (SOS) without scipy (bilinear transform of the analogue
prototype, as in ``scipy.signal.butter``) and runs it causally (direct form II
transposed, as ``scipy.signal.sosfilt``). The filter's group delay near the pulse
fundamental is reported so that beat times can be referred back to the input.

References
----------
Oppenheim & Schafer, *Discrete-Time Signal Processing*, 3rd ed., sec. 7.1 (bilinear
transform) and 6.5 (transposed direct form II).
Elgendi et al. (2013), PLoS One 8:e76585 (0.5-8 Hz band for finger PPG).
"""

from __future__ import annotations

import numpy as np

from kindpulse.dsp._numba import kernel
from kindpulse.errors import ConfigError

__all__ = [
    "BandpassFilter",
    "butter_bandpass_sos",
    "butter_lowpass_sos",
    "group_delay_s",
    "sosfilt",
    "steady_state",
]


def butter_bandpass_sos(low_hz: float, high_hz: float, fs: float, order: int = 2) -> np.ndarray:
    """Design a digital Butterworth band-pass as second-order sections.

    Parameters
    ----------
    low_hz, high_hz : float
        Pass-band edges (-3 dB) in Hz, ``0 < low_hz < high_hz < fs / 2``.
    fs : float
        Sample rate in Hz.
    order : int
        Order of the low-pass prototype; the band-pass has ``2 * order`` poles and
        ``order`` sections (same convention as ``scipy.signal.butter``).

    Returns
    -------
    numpy.ndarray, shape (order, 6)
        Rows ``[b0, b1, b2, 1, a1, a2]``; the overall gain sits in the first section.
    """
    if not (fs > 0 and 0 < low_hz < high_hz < fs / 2):
        raise ConfigError(
            f"band-pass {low_hz}-{high_hz} Hz does not fit sample rate {fs} Hz; "
            "need 0 < low < high < fs/2"
        )
    if order < 1:
        raise ConfigError(f"filter order must be >= 1, got {order}")
    n = int(order)
    # analogue low-pass prototype poles (left half plane), unit cut-off
    k = np.arange(-n + 1, n, 2)
    p_lp = -np.exp(1j * np.pi * k / (2 * n))
    fs2 = 2.0 * fs
    wl = fs2 * np.tan(np.pi * low_hz / fs)  # pre-warped edges, rad/s
    wh = fs2 * np.tan(np.pi * high_hz / fs)
    bw, w0 = wh - wl, np.sqrt(wl * wh)
    # low-pass -> band-pass: each pole splits in two; n zeros at s = 0, n at infinity
    half = p_lp * bw / 2
    root = np.sqrt(half**2 - w0**2 + 0j)
    p_bp = np.concatenate([half + root, half - root])
    gain = bw**n
    # bilinear transform
    p_d = (fs2 + p_bp) / (fs2 - p_bp)
    gain = gain * np.real(fs2**n / np.prod(fs2 - p_bp))
    # one section per conjugate pole pair (or per two real poles); zeros at z = +1, -1
    tol = 1e-12
    cplx = p_d[np.imag(p_d) > tol]
    real = np.sort(np.real(p_d[np.abs(np.imag(p_d)) <= tol]))
    sections = [(-2.0 * p.real, abs(p) ** 2) for p in cplx]
    sections += [(-(real[i] + real[i + 1]), real[i] * real[i + 1]) for i in range(0, real.size, 2)]
    sections.sort(key=lambda a: a[1])  # least resonant first, like scipy
    sos = np.zeros((n, 6))
    for i, (a1, a2) in enumerate(sections):
        sos[i] = [1.0, 0.0, -1.0, 1.0, a1, a2]
    sos[0, :3] *= gain
    return sos


def butter_lowpass_sos(cut_hz: float, fs: float, order: int = 2) -> np.ndarray:
    """Design a digital Butterworth low-pass as second-order sections.

    Parameters
    ----------
    cut_hz : float
        -3 dB frequency in Hz, ``0 < cut_hz < fs / 2``.
    fs : float
        Sample rate in Hz.
    order : int
        Filter order (poles); odd orders get one first-order section padded to 6 taps.

    Returns
    -------
    numpy.ndarray, shape (ceil(order / 2), 6)
    """
    if not (fs > 0 and 0 < cut_hz < fs / 2):
        raise ConfigError(f"low-pass at {cut_hz} Hz does not fit sample rate {fs} Hz")
    n = int(order)
    if n < 1:
        raise ConfigError(f"filter order must be >= 1, got {order}")
    k = np.arange(-n + 1, n, 2)
    fs2 = 2.0 * fs
    wc = fs2 * np.tan(np.pi * cut_hz / fs)
    p_a = -np.exp(1j * np.pi * k / (2 * n)) * wc
    p_d = (fs2 + p_a) / (fs2 - p_a)
    gain = float(np.real(wc**n / np.prod(fs2 - p_a)))
    cplx = p_d[np.imag(p_d) > 1e-12]
    real = np.real(p_d[np.abs(np.imag(p_d)) <= 1e-12])
    rows = [[1.0, 2.0, 1.0, 1.0, -2.0 * p.real, abs(p) ** 2] for p in sorted(cplx, key=abs)]
    rows += [[1.0, 1.0, 0.0, 1.0, -r, 0.0] for r in real]
    sos = np.array(rows)
    sos[0, :3] *= gain
    return sos


@kernel
def _sosfilt(sos, x, zi, out):  # pragma: no cover - compiled
    n_sec = sos.shape[0]
    for i in range(x.shape[0]):
        v = x[i]
        for s in range(n_sec):
            b0 = sos[s, 0]
            b1 = sos[s, 1]
            b2 = sos[s, 2]
            a1 = sos[s, 4]
            a2 = sos[s, 5]
            y = b0 * v + zi[s, 0]
            zi[s, 0] = b1 * v - a1 * y + zi[s, 1]
            zi[s, 1] = b2 * v - a2 * y
            v = y
        out[i] = v


def sosfilt(sos: np.ndarray, x: np.ndarray, zi: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Filter ``x`` causally through second-order sections.

    Parameters
    ----------
    sos : ndarray, shape (n_sections, 6)
    x : ndarray, shape (n,)
    zi : ndarray, shape (n_sections, 2), optional
        Initial state (zeros when omitted). Not modified.

    Returns
    -------
    y : ndarray, shape (n,)
    zf : ndarray, shape (n_sections, 2)
        Final state, to pass as ``zi`` for the next chunk.
    """
    sos = np.ascontiguousarray(sos, dtype=np.float64)
    x = np.ascontiguousarray(x, dtype=np.float64).ravel()
    z = np.zeros((sos.shape[0], 2)) if zi is None else np.array(zi, dtype=np.float64, copy=True)
    out = np.empty_like(x)
    _sosfilt(sos, x, z, out)
    return out, z


def steady_state(sos: np.ndarray, x0: float) -> np.ndarray:
    """State of the cascade after a constant input ``x0`` for ever (``sosfilt_zi * x0``)."""
    z = np.zeros((sos.shape[0], 2))
    u = float(x0)
    for s in range(sos.shape[0]):
        b0, b1, b2, _, a1, a2 = sos[s]
        y = u * (b0 + b1 + b2) / (1.0 + a1 + a2)
        z[s, 1] = b2 * u - a2 * y
        z[s, 0] = b1 * u - a1 * y + z[s, 1]
        u = y
    return z


def group_delay_s(sos: np.ndarray, fs: float, f_hz: float) -> float:
    """Group delay of the cascade at ``f_hz``, in seconds (numerical phase derivative)."""
    def phase(f: float) -> float:
        z = np.exp(-2j * np.pi * f / fs)
        h = np.prod([(s[0] + s[1] * z + s[2] * z * z) / (s[3] + s[4] * z + s[5] * z * z) for s in sos])
        return float(np.angle(h))

    df = 1e-3
    dphi = np.angle(np.exp(1j * (phase(f_hz + df) - phase(f_hz - df))))
    return float(-dphi / (2 * np.pi * 2 * df))


class BandpassFilter:
    """Streaming causal band-pass; state carries across :meth:`process` calls.

    Parameters
    ----------
    fs : float
        Sample rate in Hz.
    low_hz, high_hz : float
        Pass band in Hz (0.5-8 Hz by default, as NeuroKit2's ``elgendi`` cleaning).
        ``high_hz`` is capped at 0.45 * fs. ``low_hz=None`` gives a low-pass.
    order : int
        Prototype order (2: four poles).

    Notes
    -----
    The first sample initialises the state to the steady state of a constant input,
    so the large DC level of raw counts does not ring through the band-pass.
    """

    def __init__(self, fs: float, low_hz: float | None = 0.5, high_hz: float = 8.0, order: int = 2) -> None:
        self.fs = float(fs)
        high = min(high_hz, 0.45 * self.fs)
        if low_hz is None:  # low-pass only
            self.sos = butter_lowpass_sos(high, self.fs, order)
        else:
            self.sos = butter_bandpass_sos(low_hz, high, self.fs, order)
        self.zi = np.zeros((self.sos.shape[0], 2))
        self._started = False

    def reset(self) -> None:
        """Forget the state; the next sample re-initialises it (after a gap)."""
        self.zi[:] = 0.0
        self._started = False

    def process(self, x: np.ndarray) -> np.ndarray:
        """Filter the next chunk; returns an array of the same length."""
        x = np.ascontiguousarray(x, dtype=np.float64).ravel()
        out = np.empty_like(x)
        if x.size == 0:
            return out
        if not self._started:
            self.zi[:] = steady_state(self.sos, x[0])
            self._started = True
        _sosfilt(self.sos, x, self.zi, out)
        return out
