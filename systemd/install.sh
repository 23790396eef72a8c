#!/usr/bin/env bash
# Install kindpulse as a service on a Raspberry Pi (run as root from the repo checkout).
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
dest=/opt/kindpulse
if [ "$(id -u)" != 0 ]; then echo "install.sh: run as root (sudo bash systemd/install.sh)" >&2; exit 2; fi
if ! ls /dev/i2c-1 >/dev/null 2>&1; then
  echo "install.sh: /dev/i2c-1 missing: enable I2C with 'sudo raspi-config nonint do_i2c 0', then reboot" >&2; exit 2
fi
apt-get install -y python3-venv python3-dev
mkdir -p "$dest"
cp -r "$src/pyproject.toml" "$src/README.md" "$src/firmware_py" "$dest/"
python3 -m venv "$dest/.venv"
extra=pi
grep -q "Raspberry Pi 5" /proc/device-tree/model 2>/dev/null && extra=pi5  # rpi-lgpio
"$dest/.venv/bin/pip" install "$dest[$extra]"
install -m 0644 "$src/systemd/kindpulse.sysusers" /usr/lib/sysusers.d/kindpulse.conf
install -m 0644 "$src/systemd/kindpulse.tmpfiles" /usr/lib/tmpfiles.d/kindpulse.conf
systemd-sysusers
systemd-tmpfiles --create
[ -f /etc/kindpulse/config.toml ] || install -m 0640 -g kindpulse "$src/systemd/config.example.toml" /etc/kindpulse/config.toml
install -m 0644 "$src/systemd/kindpulse.service" /etc/systemd/system/kindpulse.service
systemctl daemon-reload
# Warm the numba cache as the service user, so the first start is fast.
mkdir -p /var/cache/kindpulse/numba && chown -R kindpulse:kindpulse /var/cache/kindpulse
sudo -u kindpulse NUMBA_CACHE_DIR=/var/cache/kindpulse/numba "$dest/.venv/bin/kindpulse" doctor || true
systemctl enable --now kindpulse
echo "kindpulse installed: 'journalctl -u kindpulse -f' shows its log"
