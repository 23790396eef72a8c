#!/usr/bin/env bash
# Headless Chromium opens `kindpulse report`'s HTML in the tests (console errors, screenshot).
bash .ci/need chromium chromium
