"""A throwaway PostgreSQL server on 127.0.0.1 for the suite on PostgreSQL (`TEST_DATABASE=postgresql`),
from Debian's packages (`apt-get install postgresql`; .ci/run installs them). Its data lives in one
directory and nothing is kept: fsync, synchronous commits and full-page writes are off, which is
safe for tests only.

    python -m tests.postgres_server start DIR   # prints the URL to put in TEST_POSTGRES_URL
    python -m tests.postgres_server stop DIR

PostgreSQL refuses to run as root: as root the server runs as the `postgres` user (Debian's package
creates it), owning DIR.
"""
from __future__ import annotations

import argparse
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
from pathlib import Path

USER = "lotse"  # the test role; trust authentication on 127.0.0.1 only
START_TIMEOUT_S = 60


def binaries() -> Path:
    """The newest installed server's bin directory (Debian: /usr/lib/postgresql/<major>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise SystemExit("PostgreSQL is not installed: apt-get install postgresql (or run the suite on SQLite)")
    return Path(initdb).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        for item in [path, *path.rglob("*")]:
            os.chown(item, entry.pw_uid, entry.pw_gid)


def start(directory: Path) -> str:
    bin_dir = binaries()
    data = directory / "data"
    if data.exists():
        shutil.rmtree(data)
    directory.mkdir(parents=True, exist_ok=True)
    data.mkdir()
    _own(directory)
    subprocess.run(_as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "-A", "trust",
                                    "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
                   check=True, capture_output=True, timeout=120)
    port = _free_port()
    options = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={directory} "
               "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 "
               "-c shared_buffers=128MB")
    subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(directory / "server.log"),
                                    "-o", options, "-w", "-t", str(START_TIMEOUT_S), "start"]),
                   check=True, capture_output=True, timeout=START_TIMEOUT_S + 10)
    url = f"postgresql+asyncpg://{USER}@127.0.0.1:{port}/postgres"
    (directory / "url").write_text(url)
    return url


def stop(directory: Path) -> None:
    data = directory / "data"
    if data.exists():
        subprocess.run(_as_server_user([str(binaries() / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True, timeout=60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    if args.action == "start":
        print(start(args.directory.resolve()))
    else:
        stop(args.directory.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
