"""A restart after a crash polls at once: the lease of a process on this machine that is gone is taken."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

from bot.process_lease import dead_here, this_process


def test_only_a_gone_process_on_this_machine_counts_as_dead() -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
    gone = f"{socket.gethostname()}:{finished.stdout.strip()}"
    assert dead_here(gone)
    assert not dead_here(this_process())  # alive
    assert not dead_here(f"another-host-{os.getpid()}:{finished.stdout.strip()}")  # cannot tell: not ours
    assert not dead_here("garbage")
