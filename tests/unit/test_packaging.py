"""Every package of ours is installed and in the Docker image: a new top-level room must be named in
pyproject.toml's package list and copied by docker/Dockerfile (the image installs with pip, not -e)."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_is_installed_and_copied_into_the_image() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    included = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (ROOT / "docker" / "Dockerfile").read_text(), re.MULTILINE))
    assert {"bot", "flows", "imports", "transit"} <= packages
    assert packages <= {name.rstrip("*") for name in included}
    assert packages <= copied
