"""Helpers for tests that use real system tools (import as `from tools import require_tool`)."""

from __future__ import annotations

import os
import shutil

import pytest


def require_tool(path_or_name: str, why: str) -> str:
    """The tool's path; without it the test skips with the reason, or fails under CI=true
    (CI installs every tool through `make sysdeps`, so a missing one is a broken install step)."""
    found = path_or_name if os.access(path_or_name, os.X_OK) else shutil.which(path_or_name)
    if found:
        return found
    message = f"{path_or_name} not found ({why}): run 'sudo make sysdeps'"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
