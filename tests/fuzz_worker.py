"""Worker for tests/test_fuzz_inputs.py: runs `kindpulse.cli.main` on one argv per stdin line,
under an address-space and CPU limit, and answers each with one JSON line (exit code, stderr,
seconds). One process for every case, so numba loads its kernels once.

    python tests/fuzz_worker.py MEMORY_MB CPU_S
"""

from __future__ import annotations

import contextlib
import io
import json
import resource
import sys
import time
import traceback


def _warm_up(cli_main) -> None:
    """Compile (or load) every kernel the cases use before any case is timed: a fresh clone
    has an empty numba cache, and compiling takes longer than a case may."""
    import tempfile
    from pathlib import Path

    import numpy as np

    from kindpulse.sim.synth import SyntheticPPG, beat_times, rr_series

    with tempfile.TemporaryDirectory() as tmp:
        x = SyntheticPPG(beat_times(rr_series(25.0, seed=1)), seed=1).ir(np.arange(2000) / 100.0)
        np.save(Path(tmp) / "w.npy", x)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            cli_main(["analyze", str(Path(tmp) / "w.npy"), "--fs", "100", "--window", "10"])
            cli_main(["analyze", "--ibi", str(Path(tmp) / "w.npy")])
            cli_main(["sim", "--duration", "3s", "--out", str(Path(tmp) / "o")])


def main() -> None:
    memory_mb, cpu_s = int(sys.argv[1]), int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))
    from kindpulse.cli import main as cli_main

    answer = sys.stdout
    _warm_up(cli_main)
    print(json.dumps({"ready": True}), file=answer, flush=True)
    for line in sys.stdin:
        argv = json.loads(line)
        out, err = io.StringIO(), io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli_main(argv)
            except SystemExit as exc:  # argparse
                code = exc.code if isinstance(exc.code, int) else 2
            except BaseException:  # noqa: BLE001 - anything escaping main is what the fuzz looks for
                code = -1
                err.write(traceback.format_exc())
        print(json.dumps({"code": code, "err": err.getvalue(), "secs": time.perf_counter() - start}),
              file=answer, flush=True)


if __name__ == "__main__":
    main()
