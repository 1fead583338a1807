"""Shared by the comparison scripts: run a command in a fresh process and measure it."""

import subprocess
import sys

_WRAPPER = (
    "import resource, subprocess, sys, time\n"
    "t0 = time.perf_counter()\n"
    "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "dt = time.perf_counter() - t0\n"
    "sys.stderr.write(p.stderr)\n"
    "print(p.stdout, end='')\n"
    "print(f'\\n@@ {dt} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024} {p.returncode}')\n"
)


def run(cmd, what=None):
    """Wall time (s), peak RSS (MiB, the child's ru_maxrss), stdout and stderr of cmd, run in a
    fresh process through a small wrapper so the memory figure is that command's alone. Exits
    with the command's output when it fails."""
    what = what or " ".join(str(c) for c in cmd[:2])
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, *map(str, cmd)], capture_output=True, text=True)
    body, _, stats = proc.stdout.rpartition("@@ ")
    try:
        seconds, rss, code = stats.split()
    except ValueError:
        sys.exit(f"{what}: could not run it: {proc.stderr[-2000:]}")
    if int(code) != 0:
        sys.exit(f"{what} failed (exit {code}).\ncommand: {cmd[-1]}\nstderr:\n{proc.stderr[-3000:]}\n"
                 f"stdout:\n{body.strip()[-2000:]}")
    return float(seconds), float(rss), body.strip(), proc.stderr
