"""Check a content pack: python -m content.check [PACK_DIR] (default: the demo pack)."""
from __future__ import annotations

import sys
from pathlib import Path

from content import DEMO_DIR
from content.loader import iter_problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1:
        print("usage: python -m content.check [PACK_DIR]", file=sys.stderr)
        return 2
    problems = list(iter_problems(Path(args[0]) if args else DEMO_DIR))
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
