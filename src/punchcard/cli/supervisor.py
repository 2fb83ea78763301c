"""A small process supervisor for `punchcard serve`: start the children, stop them all on Ctrl-C or
SIGTERM (or as soon as one of them exits), and exit with the first failure's status."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

STOP_GRACE = 10  # seconds a child gets to stop before it is killed


def supervise(children: list[tuple[str, list[str]]], *, out=sys.stdout) -> int:
    procs: list[tuple[str, subprocess.Popen]] = []
    stopping: list[int] = []

    def request_stop(signum, _frame):
        stopping.append(signum)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    status = 0
    try:
        for name, argv in children:
            procs.append((name, subprocess.Popen(argv)))
            out.write(f"[serve] started {name} (pid {procs[-1][1].pid})\n")
            out.flush()
        while not stopping:
            ended = [(name, p) for name, p in procs if p.poll() is not None]
            if ended:
                name, proc = ended[0]
                out.write(f"[serve] {name} exited with status {proc.returncode}; stopping the others\n")
                status = proc.returncode or 1
                break
            time.sleep(0.2)
    finally:
        for _, proc in procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + STOP_GRACE
        for name, proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            out.write(f"[serve] {name} stopped\n")
        out.flush()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status
