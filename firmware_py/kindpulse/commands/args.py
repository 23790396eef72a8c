"""Argument types shared by several commands: each turns a bad value into one line naming the option."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def positive_number(option: str) -> Callable[[str], float]:
    """argparse type: a finite number > 0, else a one-line error naming the option."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} must be a number, got {text!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"{option} must be positive, got {text!r}")
        return value

    return parse
