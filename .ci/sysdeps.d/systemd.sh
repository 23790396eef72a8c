#!/usr/bin/env bash
# systemd-analyze (unit verify, security rating), systemd-sysusers and systemd-tmpfiles
# (the installer's dry run under a throwaway root).
set -euo pipefail
here="$(dirname "$0")"
bash "$here/../need" systemd-analyze systemd
bash "$here/../need" systemd-sysusers systemd
bash "$here/../need" systemd-tmpfiles systemd
