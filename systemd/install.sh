#!/usr/bin/env bash
# Install (or upgrade in place) kindpulse as a service on Raspberry Pi OS Bookworm, 64-bit.
#
#   sudo make install                 # or: sudo bash systemd/install.sh
#   bash systemd/install.sh --root DIR   # dry run: every path under DIR, system commands recorded
#
# What it does, in order: apt packages; the checkout copied to /opt/kindpulse/src and installed
# into the venv /opt/kindpulse/venv (PEP 668: never pip into the system); `kindpulse` on PATH;
# the service user (sysusers.d) and its directories (tmpfiles.d); /etc/kindpulse/config.toml
# (every key commented; an existing one is kept); I2C on at 400 kHz; the numba kernels compiled
# into the service's cache by a warm-up run as the service user; the unit enabled; `kindpulse
# doctor` (before the service starts, so the two do not drive the sensor at once); the start.
#
# Options: --root DIR (dry run), --extra pi|pi5 (GPIO library; default by board), --no-start.
# With --root, systemd-sysusers and systemd-tmpfiles run for real against DIR (they write only
# there); apt-get, pip, raspi-config, systemctl, the warm-up and doctor are recorded in
# DIR/install-commands.log and not run; the venv is created with --without-pip.
set -euo pipefail

usage() { echo "usage: install.sh [--root DIR] [--extra pi|pi5] [--no-start]" >&2; exit 2; }
src="$(cd "$(dirname "$0")/.." && pwd)"
root="" extra="" start=1
while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || usage; root="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
    --extra) [ $# -ge 2 ] || usage; extra="$2"; shift 2 ;;
    --no-start) start=0; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage ;;
  esac
done
case "$extra" in ""|pi|pi5) ;; *) echo "install.sh: --extra must be pi or pi5, not $extra" >&2; exit 2 ;; esac
if [ -z "$root" ] && [ "$(id -u)" != 0 ]; then
  echo "install.sh: run as root (sudo make install), or try it with --root DIR" >&2; exit 2
fi

opt=/opt/kindpulse venv=/opt/kindpulse/venv cache=/var/cache/kindpulse conf=/etc/kindpulse/config.toml
log="$root/install-commands.log"

say() { echo "kindpulse install: $*"; }
# A command that changes the running system: run it, or record it in a dry run.
sys() { if [ -n "$root" ]; then printf '%s\n' "$*" >> "$log"; else "$@"; fi; }
# Numeric id of a user or group as the target system's /etc/passwd or /etc/group names it.
id_of() { awk -F: -v n="$2" '$1 == n { print $3 }' "$root/etc/$1"; }

[ -n "$root" ] && : > "$log"

# 1. System packages: venv support, headers for any wheel that builds, I2C tools for doctor.
sys apt-get install -y --no-install-recommends python3-venv python3-dev i2c-tools

# 2. The code: a copy of this checkout (the unit's Documentation= and upgrades read it), then the
#    venv. Re-running replaces the copy and reinstalls: an upgrade in place.
if [ -z "$extra" ]; then
  extra=pi
  grep -qs "Raspberry Pi 5" "$root/proc/device-tree/model" && extra=pi5  # rpi-lgpio, not RPi.GPIO
fi
say "code -> $opt (extra $extra)"
rm -rf "$root$opt/src.new"
mkdir -p "$root$opt/src.new"
cp -r "$src/pyproject.toml" "$src/README.md" "$src/firmware_py" "$src/systemd" "$root$opt/src.new/"
mkdir -p "$root$opt/src.new/docs" && cp "$src/docs/service.md" "$root$opt/src.new/docs/"
find "$root$opt/src.new" -name __pycache__ -prune -exec rm -rf {} +
rm -rf "$root$opt/src" && mv "$root$opt/src.new" "$root$opt/src"
if [ ! -x "$root$venv/bin/python" ]; then
  if [ -n "$root" ]; then python3 -m venv --without-pip "$root$venv"; else python3 -m venv "$venv"; fi
fi
sys "$venv/bin/pip" install --quiet --upgrade pip
sys "$venv/bin/pip" install --quiet --upgrade "$opt/src[$extra]"
mkdir -p "$root/usr/local/bin"
ln -sfn "$venv/bin/kindpulse" "$root/usr/local/bin/kindpulse"

# 3. The service user (in the i2c and gpio groups) and its directories.
install -D -m 0644 "$src/systemd/kindpulse.sysusers" "$root/usr/lib/sysusers.d/kindpulse.conf"
install -D -m 0644 "$src/systemd/kindpulse.tmpfiles" "$root/usr/lib/tmpfiles.d/kindpulse.conf"
if [ -n "$root" ]; then
  mkdir -p "$root/etc"; touch "$root/etc/passwd" "$root/etc/group" "$root/etc/shadow" "$root/etc/gshadow"
  systemd-sysusers --root="$root" "$root/usr/lib/sysusers.d/kindpulse.conf"
  systemd-tmpfiles --root="$root" --create "$root/usr/lib/tmpfiles.d/kindpulse.conf"
else
  systemd-sysusers /usr/lib/sysusers.d/kindpulse.conf
  systemd-tmpfiles --create /usr/lib/tmpfiles.d/kindpulse.conf
fi
gid="$(id_of group kindpulse)"
[ -n "$gid" ] || { echo "install.sh: systemd-sysusers did not create the kindpulse group" >&2; exit 1; }

# 4. The config: every key commented (the built-in defaults apply, and a later release's new
#    defaults too); an existing config.toml is the user's and is kept. The reference copy is
#    refreshed on every run.
install -D -m 0640 -o 0 -g "$gid" "$src/systemd/config.example.toml" "$root/etc/kindpulse/config.example.toml"
if [ ! -e "$root$conf" ]; then
  say "config -> $conf (every key commented: the defaults apply)"
  tmp="$(mktemp)"
  { echo "# Uncomment a key to change it; the rest keep their defaults. Kept when kindpulse is upgraded."
    sed -E 's/^([a-z0-9_]+ = )/# \1/' "$src/systemd/config.example.toml"; } > "$tmp"
  install -m 0640 -o 0 -g "$gid" "$tmp" "$root$conf"
  rm -f "$tmp"
else
  say "config: keeping $conf (the current defaults are in config.example.toml beside it)"
fi

# 5. I2C on, fast mode (400 kHz): raspi-config enables it now; the baud rate needs a reboot.
boot="$root/boot/firmware/config.txt"
[ -e "$boot" ] || boot="$root/boot/config.txt"  # Bullseye and older
if [ -e "$boot" ]; then
  if ! grep -qxE 'dtparam=i2c_arm=on' "$boot"; then
    printf '\n# kindpulse: I2C for the MAX30102 and the OLED\ndtparam=i2c_arm=on\n' >> "$boot"
  fi
  if ! grep -qxE 'dtparam=i2c_arm_baudrate=400000' "$boot"; then
    sed -i -E '/^dtparam=i2c_arm_baudrate=/d' "$boot"
    printf 'dtparam=i2c_arm_baudrate=400000\n' >> "$boot"
    say "I2C set to 400 kHz in ${boot#"$root"}: takes effect after a reboot"
  fi
else
  say "no config.txt found: add dtparam=i2c_arm=on and dtparam=i2c_arm_baudrate=400000 (hardware/README.md)"
fi
sys raspi-config nonint do_i2c 0

# 6. The unit. A running service is stopped first (upgrade), then the kernels are compiled into
#    its cache as the service user: the first start loads them instead of compiling (minutes on
#    a Pi Zero 2 W). The warm-up is a short emulated day through the same code path as the daemon.
install -D -m 0644 "$src/systemd/kindpulse.service" "$root/etc/systemd/system/kindpulse.service"
sys systemctl daemon-reload
sys systemctl stop kindpulse.service
say "compiling the kernels into $cache/numba (a minute or two)"
sys runuser -u kindpulse -- env NUMBA_CACHE_DIR="$cache/numba" "$venv/bin/kindpulse" sim \
  --scenario calm-day --duration 6m --out "$cache/warmup"
rm -rf "$root$cache/warmup"
sys systemctl enable kindpulse.service

# 7. The hardware check, then the start. doctor exits 1 when a check fails: the service still
#    starts (it shows the sensor-error screen and retries), and the output says what to fix.
sys "$venv/bin/kindpulse" doctor --config "$conf" ||
  say "doctor found problems (above); the service retries until they are fixed"
if [ "$start" = 1 ]; then
  sys systemctl restart kindpulse.service
  say "started: 'systemctl status kindpulse' shows its state, 'journalctl -u kindpulse -f' its log"
else
  say "installed, not started (--no-start): 'sudo systemctl start kindpulse'"
fi
