#!/usr/bin/env bash
# tests/test_sync.py runs a real OpenSSH server on 127.0.0.1 and syncs from it with the ssh client.
exec bash "$(dirname "$0")/../need" /usr/sbin/sshd openssh-server openssh-client
