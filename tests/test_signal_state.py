"""Signal state debouncing: one bad second does not flap the screen or the log."""

from kindpulse.signal_state import SIGNAL_LOST_AFTER_S, SIGNAL_OK_AFTER_S, SignalState


def _feed(state, t0, t1, **q):
    events = []
    t = t0
    while t < t1:
        events += [(round(t, 2), e) for e, _ in state.update(t, **q)]
        t += 0.25
    return events


GOOD = {"present": True, "usable": True, "motion": False}
OFF = {"present": False, "usable": False, "motion": False}


def test_ok_after_holding_good_and_lost_after_holding_bad():
    s = SignalState()
    ev = _feed(s, 0, 10, **GOOD)
    assert ev == [(SIGNAL_OK_AFTER_S, "signal_ok")]
    ev = _feed(s, 10, 20, **OFF)
    assert ev == [(10 + SIGNAL_LOST_AFTER_S, "signal_lost")]
    assert not s.present and not s.usable


def test_a_short_dropout_is_not_announced():
    s = SignalState()
    _feed(s, 0, 10, **GOOD)
    assert _feed(s, 10, 11.5, **OFF) == []
    assert _feed(s, 11.5, 20, **GOOD) == []
    assert s.present and s.usable


def test_lost_reason_and_motion_hold():
    s = SignalState()
    _feed(s, 0, 10, **GOOD)
    out = s.update(10, present=True, usable=False, motion=True)
    out += s.update(12.5, present=True, usable=False, motion=True)
    assert out == [("signal_lost", {"reason": "motion"})]
    assert s.moving(20) and not s.moving(23)
