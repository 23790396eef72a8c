#!/usr/bin/env bash
# Undo systemd/install.sh. The log (/var/lib/kindpulse), the config (/etc/kindpulse) and the
# service user stay unless --purge (make uninstall PURGE=1): the data is the wearer's.
#
#   sudo make uninstall [PURGE=1]     # or: sudo bash systemd/uninstall.sh [--purge]
#   bash systemd/uninstall.sh --root DIR [--purge]   # dry run against install.sh --root DIR
#
# The I2C lines in config.txt stay: other hardware may use the bus.
set -euo pipefail

usage() { echo "usage: uninstall.sh [--root DIR] [--purge]" >&2; exit 2; }
root="" purge=0
while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || usage; root="$(cd "$2" && pwd)"; shift 2 ;;
    --purge) purge=1; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "uninstall.sh: unknown option $1" >&2; usage ;;
  esac
done
if [ -z "$root" ] && [ "$(id -u)" != 0 ]; then
  echo "uninstall.sh: run as root (sudo make uninstall), or try it with --root DIR" >&2; exit 2
fi
log="$root/install-commands.log"
say() { echo "kindpulse uninstall: $*"; }
sys() { if [ -n "$root" ]; then printf '%s\n' "$*" >> "$log"; else "$@"; fi; }

sys systemctl disable --now kindpulse.service
rm -f "$root/etc/systemd/system/kindpulse.service"
sys systemctl daemon-reload
sys systemctl reset-failed kindpulse.service
rm -f "$root/usr/local/bin/kindpulse" "$root/usr/lib/tmpfiles.d/kindpulse.conf"
rm -rf "$root/opt/kindpulse" "$root/var/cache/kindpulse"  # code and compiled kernels: rebuilt on install
if [ "$purge" = 1 ]; then
  rm -rf "$root/var/lib/kindpulse" "$root/etc/kindpulse"
  rm -f "$root/usr/lib/sysusers.d/kindpulse.conf"
  if [ -n "$root" ]; then
    sys userdel kindpulse
  elif id kindpulse >/dev/null 2>&1; then
    userdel kindpulse
  fi
  say "removed, with the log, the config and the kindpulse user"
else
  # The sysusers entry stays with the user: the kept log is owned by it.
  say "removed; kept the log (/var/lib/kindpulse), /etc/kindpulse and the kindpulse user"
  say "(PURGE=1 removes them too)"
fi
