"""First lines of every Python script: run under the project's .venv, and end quietly on a closed pipe.

A user types `scripts/compare A B` from a plain shell, so the script starts under whatever `python3` is first on
PATH. When that interpreter lacks the pinned packages, re-run the same command under `.venv/bin/python` (made by
scripts/test or scripts/bench); when there is no .venv either, stop with one line saying how to make it (exit 2,
never 1: 1 is the gate's REGRESSED). `scripts/summary RUN.json | head -1` closes stdout early: die of SIGPIPE
silently, as any Unix filter does, instead of printing a BrokenPipeError traceback.
"""
import importlib.util
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NEEDED = ("numpy", "scipy", "matplotlib")


def setup() -> None:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if all(importlib.util.find_spec(m) is not None for m in NEEDED):
        return
    venv_py = ROOT / ".venv" / "bin" / "python"
    prog = Path(sys.argv[0]).name
    if venv_py.exists() and Path(sys.prefix).resolve() != venv_py.parent.parent.resolve() and not os.environ.get("PB_REEXEC"):
        os.environ["PB_REEXEC"] = "1"  # guards against a loop if the venv itself is broken
        os.execv(str(venv_py), [str(venv_py), *sys.argv])
    print(f"{prog}: error: Python packages missing ({', '.join(m for m in NEEDED if importlib.util.find_spec(m) is None)}); "
          f"run ./scripts/test once to create {ROOT / '.venv'}", file=sys.stderr)
    sys.exit(2)
