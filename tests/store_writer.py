"""A writer process for the crash test (tests/test_store_safety.py): writes records whose values
follow from their seq, commits every few rows, and prints the seq it has committed up to."""

import sys

import numpy as np

from kindpulse.clock import RealClock
from kindpulse.store.db import Store


def value_of(seq: int) -> float:
    return 300.0 + seq % 997


def main(path: str) -> None:
    store = Store(path, RealClock(), commit_every_s=1e9)
    store.event(0.0, "start")  # committed at once
    print(store._seq - 1, flush=True)
    i = 0
    while True:
        i += 1
        seq = store._seq
        store.nn(np.array([float(i)]), np.array([value_of(seq)]))
        store.ppg(float(i), 100.0, np.arange(50) + i, np.arange(50) - i)
        store.hrv(float(i), 60.0, {"rmssd_ms": value_of(store._seq)})
        if i % 7 == 0:
            store.commit()
            print(store._seq - 1, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
