"""kindpulse: a stress-and-recovery device on a Raspberry Pi (MAX30102 PPG, numba HRV)."""

__version__ = "0.1.0"
