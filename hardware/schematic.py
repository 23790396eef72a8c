"""Draw hardware/schematic.svg from hardware/wiring.toml (stdlib only).

    python hardware/schematic.py            # rewrite schematic.svg
    python hardware/schematic.py --check    # exit 1 when schematic.svg is not what wiring.toml draws

The Pi's header is a connector listing the pins in use; each part is a box with its pins; each
header pin is one net, drawn in its own vertical lane, with a dot where it branches. The motor
driver box shows its circuit (base resistor, pull-down, NPN, flyback diode, motor), the part
people most often get wrong.
"""

from __future__ import annotations

import sys
from pathlib import Path
from xml.sax.saxutils import escape

import tomllib

HERE = Path(__file__).resolve().parent
WIRING = HERE / "wiring.toml"
SVG = HERE / "schematic.svg"

# The 40-pin header (physical pin -> name), Raspberry Pi 2 and later.
HEADER = {
    1: "3V3", 2: "5V", 3: "GPIO2 SDA1", 4: "5V", 5: "GPIO3 SCL1", 6: "GND", 7: "GPIO4", 8: "GPIO14 TXD",
    9: "GND", 10: "GPIO15 RXD", 11: "GPIO17", 12: "GPIO18 PWM0", 13: "GPIO27", 14: "GND", 15: "GPIO22",
    16: "GPIO23", 17: "3V3", 18: "GPIO24", 19: "GPIO10 MOSI", 20: "GND", 21: "GPIO9 MISO", 22: "GPIO25",
    23: "GPIO11 SCLK", 24: "GPIO8 CE0", 25: "GND", 26: "GPIO7 CE1", 27: "GPIO0 ID_SD", 28: "GPIO1 ID_SC",
    29: "GPIO5", 30: "GND", 31: "GPIO6", 32: "GPIO12 PWM0", 33: "GPIO13 PWM1", 34: "GND", 35: "GPIO19 PWM1",
    36: "GPIO16", 37: "GPIO26", 38: "GPIO20", 39: "GND", 40: "GPIO21",
}
HARDWARE_PWM_GPIOS = {12, 13, 18, 19}

ROW = 26  # px between pin rows
PIN_X = 230  # the header's pin column
PART_X = 600  # left edge of the part boxes
PART_W = 270
LANE0, LANE_DX = PIN_X + 30, 22


def load(path: Path = WIRING) -> list[dict]:
    return tomllib.loads(path.read_text(encoding="utf-8"))["part"]


def header_gpio(pin: int) -> int | None:
    """BCM number of a header pin, None for power and ground."""
    name = HEADER[pin]
    return int(name.split()[0][4:]) if name.startswith("GPIO") else None


def color(pin: int) -> str:
    name = HEADER[pin]
    if name == "GND":
        return "#222222"
    if name in ("3V3", "5V"):
        return "#c0392b"
    return "#1f6fb2" if ("SDA" in name or "SCL" in name) else "#d35400"


def render(parts: list[dict]) -> str:
    used = sorted({p["pin"] for part in parts for p in part["pins"]})
    pin_y = {pin: 90 + i * ROW for i, pin in enumerate(used)}
    lane = {pin: LANE0 + i * LANE_DX for i, pin in enumerate(used)}
    out: list[str] = []
    add = out.append

    # parts, stacked; the motor driver gets room for its circuit
    y, boxes = 60, []
    for part in parts:
        inner = 150 if part["name"] == "Motor driver" else 0
        h = 40 + ROW * len(part["pins"]) + inner
        boxes.append((part, y, h))
        y += h + 24
    height = max(y, 90 + ROW * len(used) + 40) + 40

    add(f'<svg xmlns="http://www.w3.org/2000/svg" width="{PART_X + PART_W + 40}" height="{height}" '
        f'viewBox="0 0 {PART_X + PART_W + 40} {height}" font-family="DejaVu Sans, Arial, sans-serif" '
        'font-size="13">')
    add('<rect width="100%" height="100%" fill="white"/>')
    add('<text x="20" y="30" font-size="17" font-weight="bold">kindpulse wiring '
        '(generated from hardware/wiring.toml)</text>')

    # the header connector
    top, bottom = pin_y[used[0]] - 30, pin_y[used[-1]] + 20
    add(f'<rect x="20" y="{top}" width="{PIN_X - 20}" height="{bottom - top}" fill="#f4f8f0" stroke="#333"/>')
    add(f'<text x="30" y="{top + 18}" font-weight="bold">Raspberry Pi header J8</text>')
    for pin in used:
        py = pin_y[pin]
        add(f'<text x="30" y="{py + 4}">{pin:>2}</text>')
        add(f'<text x="60" y="{py + 4}">{escape(HEADER[pin])}</text>')
        add(f'<circle cx="{PIN_X}" cy="{py}" r="4" fill="{color(pin)}"/>')

    # parts and their pins; wires from each header pin's lane
    ends: dict[int, list[int]] = {}
    for part, by, bh in boxes:
        add(f'<rect x="{PART_X}" y="{by}" width="{PART_W}" height="{bh}" rx="6" fill="#fbfbfb" '
            'stroke="#333"/>')
        add(f'<text x="{PART_X + 14}" y="{by + 20}" font-weight="bold">{escape(part["label"])}</text>')
        add(f'<text x="{PART_X + PART_W - 10}" y="{by + 20}" text-anchor="end" fill="#666">'
            f'{escape(part["note"])}</text>')
        for i, p in enumerate(part["pins"]):
            py = by + 44 + i * ROW
            pin = p["pin"]
            add(f'<circle cx="{PART_X}" cy="{py}" r="4" fill="{color(pin)}"/>')
            add(f'<text x="{PART_X + 12}" y="{py + 4}">{escape(p["signal"])}</text>')
            x = lane[pin]
            add(f'<path d="M{PIN_X} {pin_y[pin]} H{x} V{py} H{PART_X}" fill="none" stroke="{color(pin)}" '
                'stroke-width="2"/>')
            ends.setdefault(pin, []).append(py)
        if part["name"] == "Motor driver":
            _motor_driver(add, PART_X + 60, by + 44 + ROW * len(part["pins"]) + 6)
    for pin, ys in ends.items():
        if len(ys) > 1:  # a net that branches: dots where it does
            for py in sorted({pin_y[pin], *ys})[1:-1]:
                add(f'<circle cx="{lane[pin]}" cy="{py}" r="4" fill="{color(pin)}"/>')
    add("</svg>")
    return "\n".join(out) + "\n"


def _motor_driver(add, x: int, y: int) -> None:
    """IN -[1k]- B; B -[10k]- GND; NPN C to motor(-), E to GND; motor(+) to 5V; diode across the motor."""
    s = 'stroke="#333" stroke-width="1.6" fill="none"'
    add(f'<text x="{x - 52}" y="{y + 12}" fill="#666">5V</text>')
    add(f'<path d="M{x - 16} {y + 8} H{x + 110}" {s}/>')  # the 5V rail
    add(f'<rect x="{x + 50}" y="{y + 24}" width="26" height="26" {s}/>')  # the motor
    add(f'<text x="{x + 57}" y="{y + 42}">M</text>')
    add(f'<path d="M{x + 63} {y + 8} V{y + 24} M{x + 63} {y + 50} V{y + 66}" {s}/>')
    # flyback diode, cathode (bar) to 5V
    add(f'<path d="M{x + 63} {y + 14} H{x + 104} V{y + 28} M{x + 63} {y + 60} H{x + 104} V{y + 46}" {s}/>')
    add(f'<path d="M{x + 96} {y + 46} L{x + 112} {y + 46} L{x + 104} {y + 32} Z" {s}/>')
    add(f'<path d="M{x + 96} {y + 30} H{x + 112}" {s}/>')
    add(f'<text x="{x + 116}" y="{y + 42}" font-size="11">1N4148</text>')
    # NPN: base bar, collector up to the motor, emitter down to GND
    add(f'<path d="M{x + 50} {y + 72} V{y + 96}" stroke="#333" stroke-width="3"/>')
    add(f'<path d="M{x + 50} {y + 78} L{x + 63} {y + 66} '
        f'M{x + 50} {y + 90} L{x + 63} {y + 102} V{y + 130}" {s}/>')
    add(f'<path d="M{x + 58} {y + 94} L{x + 63} {y + 102} L{x + 54} {y + 100}" {s}/>')
    add(f'<text x="{x + 70}" y="{y + 90}" font-size="11">NPN 2N2222A</text>')
    # base resistor from IN, pull-down to GND
    add(f'<text x="{x - 52}" y="{y + 88}" fill="#666">IN</text>')
    add(f'<path d="M{x - 16} {y + 84} H{x - 20} M{x + 12} {y + 84} H{x + 50}" {s}/>')
    add(f'<rect x="{x - 20}" y="{y + 78}" width="32" height="12" {s}/>')
    add(f'<text x="{x - 20}" y="{y + 74}" font-size="11">1 kΩ</text>')
    add(f'<path d="M{x + 30} {y + 84} V{y + 98} M{x + 30} {y + 118} V{y + 130}" {s}/>')
    add(f'<rect x="{x + 24}" y="{y + 98}" width="12" height="20" {s}/>')
    add(f'<text x="{x - 18}" y="{y + 112}" font-size="11">10 kΩ</text>')
    add(f'<path d="M{x - 16} {y + 130} H{x + 110}" {s}/>')  # GND
    add(f'<text x="{x - 52}" y="{y + 134}" fill="#666">GND</text>')


def main(argv: list[str]) -> int:
    svg = render(load())
    if "--check" in argv:
        if not SVG.exists() or SVG.read_text(encoding="utf-8") != svg:
            print("hardware/schematic.svg is out of date: run python hardware/schematic.py", file=sys.stderr)
            return 1
        return 0
    SVG.write_text(svg, encoding="utf-8")
    print(f"wrote {SVG}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
