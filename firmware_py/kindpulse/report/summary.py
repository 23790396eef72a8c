"""The few sentences at the top of a report, in the device's kind voice (ui/break_script.py):
plain words, the wearer's own numbers, no judgement."""

from __future__ import annotations

from kindpulse.report.model import DayModel, WeekModel


def _hm(day: DayModel, wall: float) -> str:
    return day.local(wall).strftime("%H:%M")


def _duration(seconds: float) -> str:
    m = int(round(seconds / 60))
    if m < 60:
        return f"{m} minute{'s' * (m != 1)}"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def _plural(n: int, word: str) -> str:
    return f"{'one' if n == 1 else n} {word}{'s' * (n != 1)}"


def day_summary(day: DayModel) -> list[str]:
    """Two to four short sentences about the day."""
    if not day.has_data:
        return [
            f"Nothing was recorded on {day.date:%A %d %B}.",
            "Whenever you are ready, rest a fingertip on the sensor: there is nothing to catch up on.",
        ]
    out = [f"The sensor heard your heart for {_duration(day.worn_s)} today."]
    base = day.baseline or day.calm
    s = day.series
    if base and len(s):
        hr = float(_median(s.hr))
        usual = base["hr_bpm"].mean
        if abs(hr - usual) <= base["hr_bpm"].sd:
            out.append(f"Your heart rate stayed near your usual {usual:.0f} bpm.")
        else:
            out.append(
                f"Your heart rate was {'above' if hr > usual else 'below'} your usual "
                f"({hr:.0f} against {usual:.0f} bpm)."
            )
    if day.stress:
        first = _hm(day, day.stress[0][0])
        out.append(f"Your body showed stress for {_duration(day.stress_s)}, first around {first}.")
    elif len(s):
        out.append("No stretch of stress stood out.")
    n_b = len(day.breaks)
    if n_b:
        helped = [b for b in day.breaks if (b.d_rmssd or 0) > 0]
        out.append(
            f"You took {_plural(n_b, 'kind pause')}"
            + (
                f"; after {'it' if n_b == 1 else f'{len(helped)} of them'} your HRV was higher."
                if helped
                else "."
            )
        )
        out.append("Thank you for pausing.")
    elif day.prompts:
        out.append(
            f"The device invited you {_plural(day.prompts, 'time')}; it is okay that today "
            "was not the day for a pause."
        )
    return out


def week_summary(week: WeekModel) -> list[str]:
    worn = sum(d.worn_s for d in week.days)
    if worn == 0 and not week.breaks:
        return [
            f"Nothing was recorded in week {week.week} of {week.year}.",
            "Whenever you are ready, the sensor will be there.",
        ]
    days = sum(1 for d in week.days if d.has_data)
    out = [f"You wore the sensor on {_plural(days, 'day')} this week, {_duration(worn)} in all."]
    stress = sum(d.stress_s for d in week.days)
    prompts = sum(d.prompts for d in week.days)
    out.append(
        f"Your body showed stress for {_duration(stress)}; the device invited you {_plural(prompts, 'time')}."
        if stress or prompts
        else "No stretch of stress stood out."
    )
    if week.breaks:
        out.append(f"You took {_plural(len(week.breaks), 'kind pause')}. Thank you for pausing.")
    return out


def _median(x):
    import numpy as np

    v = x[np.isfinite(x)]
    return np.median(v) if v.size else float("nan")
