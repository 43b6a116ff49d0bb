"""Write the worked example of docs/guides/signing.md from docs/spec/vectors.json.

The example sits in the markdown source between two markers, so it reads the same
on GitHub as on the site; tests/docs/test_worked_example.py checks it is current.

    .venv/bin/python scripts/make_worked_example.py          # rewrite the section
    .venv/bin/python scripts/make_worked_example.py --check  # exit 1 if stale
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "guides" / "signing.md"
START = "<!-- nuvera:worked-example:start (scripts/make_worked_example.py) -->"
END = "<!-- nuvera:worked-example:end -->"
TITLES = {"post-json-non-ascii": "JSON", "post-multipart": "Multipart"}


def _renderer() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "openapi_pages", ROOT / "docs" / "hooks" / "openapi_pages.py"
    )
    if spec is None or spec.loader is None:
        raise SystemExit("cannot load docs/hooks/openapi_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def section() -> str:
    """Return the generated text between the markers."""
    hook = _renderer()
    vectors = hook.load_vectors()
    parts = [
        "Every value below is copied from the test vectors by "
        "`scripts/make_worked_example.py` (a test fails when they drift apart). "
        "Reproduce them with your own code: the same inputs must give the same bytes.",
        "",
    ]
    for name, title in TITLES.items():
        parts += [f"### {title}", "", hook.render_worked_example(vectors, name)]
    return "\n".join(parts)


def rewrite(text: str) -> str:
    """Return the guide with the section between the markers regenerated."""
    head, found, rest = text.partition(START)
    _, found_end, tail = rest.partition(END)
    if not found or not found_end:
        raise SystemExit(f"{GUIDE} lacks the worked-example markers")
    return f"{head}{START}\n\n{section()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    text = GUIDE.read_text("utf-8")
    new = rewrite(text)
    if "--check" in argv:
        if new != text:
            print(f"{GUIDE} is stale: run scripts/make_worked_example.py")
            return 1
        return 0
    GUIDE.write_text(new, "utf-8")
    print(f"wrote {GUIDE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
