"""Inter-pathologist agreement statistics against published and hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from pathology.agreement import bland_altman, continuous, icc_a1, ordinal, weighted_kappa


def test_icc_a1_reproduces_shrout_and_fleiss_1979_table_2():
    # Shrout & Fleiss (1979), Psychol Bull 86:420, Table 2 (6 targets x 4 judges): ICC(2,1) = .29.
    ratings = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])
    assert icc_a1(ratings) == pytest.approx(0.2898, abs=5e-5)


def test_weighted_and_unweighted_kappa_by_hand():
    a, b = [0, 1, 2, 3, 1, 2], [0, 2, 2, 3, 0, 1]
    # Unweighted: p_o = 3/6, p_e = (1x2 + 2x1 + 2x2 + 1x1)/36 = 9/36 -> (0.5 - 0.25) / 0.75 = 1/3.
    assert weighted_kappa(a, b, [0, 1, 2, 3], linear=False) == pytest.approx(1 / 3)
    # Linear weights 1 - |i-j|/3: p_o = 5/6, p_e = 22/36 -> (5/6 - 22/36) / (14/36) = 4/7.
    assert weighted_kappa(a, b, [0, 1, 2, 3]) == pytest.approx(4 / 7)
    assert weighted_kappa([1, 1, 1], [1, 1, 1], [0, 1, 2, 3]) is None  # one category only: undefined
    perfect = ordinal([(0, 0), (1, 1), (3, 3)], [0, 1, 2, 3])
    assert perfect.value == pytest.approx(1.0)


def test_bland_altman_and_small_n():
    bias, low, high = bland_altman([100, 200, 300], [110, 190, 330])
    assert (bias, low, high) == pytest.approx((10.0, -29.2, 49.2))
    assert continuous([(1.0, 2.0), (2.0, 3.0)]).value is None  # fewer than 3 pairs: n only
    assert continuous([(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)]).value == pytest.approx(1.0)
