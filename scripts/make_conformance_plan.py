"""Write docs/spec/conformance-plan.json from the sandbox's built-in plan.

.venv/bin/python scripts/make_conformance_plan.py          # rewrite the file
.venv/bin/python scripts/make_conformance_plan.py --check  # exit 1 if stale
"""

from __future__ import annotations

import sys
from pathlib import Path

from nuvera_client.sandbox._conformance_plan import plan_text

OUT = Path(__file__).resolve().parent.parent / "docs" / "spec" / "conformance-plan.json"


def main(argv: list[str]) -> int:
    text = plan_text()
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text("utf-8") != text:
            print(f"{OUT} is stale: run scripts/make_conformance_plan.py")
            return 1
        return 0
    OUT.write_text(text, "utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
