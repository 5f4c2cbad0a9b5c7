"""Area under a sampled curve by the linear-up/log-down trapezoidal rule."""

from __future__ import annotations

import math

import numpy as np


def segment_area(t1: float, y1: float, t2: float, y2: float) -> float:
    """Log trapezoid when the value falls (both > 0), linear trapezoid when it rises or stays."""
    dt = t2 - t1
    if y2 < y1 and y2 > 0 and y1 > 0:
        return (y1 - y2) * dt / math.log(y1 / y2)
    return 0.5 * (y1 + y2) * dt


def auc_linear_up_log_down(t: np.ndarray, y: np.ndarray) -> float:
    """Sum of the segments between consecutive samples (first to last sample)."""
    return float(sum(segment_area(t[i], y[i], t[i + 1], y[i + 1]) for i in range(len(t) - 1)))
