"""Every internal link of the documentation points at a page and anchor that exist.

Two levels: the Markdown sources (plus the endpoint pages the hook generates) are
scanned without building; then the strict build's HTML is checked link by link.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown.extensions.toc import slugify  # type: ignore[import-untyped]

from .openapi_support import load_hook

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

LINK = re.compile(r"(?<!!)\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*(?:\{#([\w-]+)\})?\s*$")
FENCE = re.compile(r"^(```|~~~)")


def _pages() -> dict[str, str]:
    """Every Markdown page of the site, by docs-relative path (generated ones too)."""
    pages = {
        path.relative_to(DOCS).as_posix(): path.read_text(encoding="utf-8")
        for path in DOCS.rglob("*.md")
        if "hooks" not in path.relative_to(DOCS).parts
    }
    hook = load_hook()
    pages.update(hook.render_pages(hook.load_spec()))
    return pages


def _prose(markdown: str) -> list[str]:
    """Lines outside fenced code blocks, with inline code removed."""
    out, fenced = [], False
    for line in markdown.splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if not fenced:
            out.append(re.sub(r"`[^`]*`", "", line))
    return out


def _anchors(markdown: str) -> set[str]:
    anchors = set()
    fenced = False
    for line in markdown.splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
        if fenced:
            continue
        match = HEADING.match(line)
        if match:
            title, explicit = match.group(2), match.group(3)
            text = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", r"\1", title)
            anchors.add(explicit or slugify(text, "-"))
    return anchors


def _links(markdown: str) -> list[str]:
    return [m.group(1) for line in _prose(markdown) for m in LINK.finditer(line)]


PAGES = _pages()


def test_the_scan_sees_every_page_and_many_links() -> None:
    assert "guides/signing.md" in PAGES
    assert "reference/endpoints/payments.md" in PAGES
    assert sum(len(_links(text)) for text in PAGES.values()) > 100


def test_anchor_extraction_follows_python_markdown() -> None:
    text = "# Sign requests\n## The token, step by step\n## List {#customers_list}\n"
    expected = {"sign-requests", "the-token-step-by-step", "customers_list"}
    assert _anchors(text) == expected


@pytest.mark.parametrize("page", sorted(PAGES))
def test_markdown_links_resolve(page: str) -> None:
    broken = []
    for target in _links(PAGES[page]):
        parts = urlsplit(target)
        if parts.scheme or target.startswith("//"):
            continue  # external: not ours to check offline
        base = Path(page).parent
        path = (base / unquote(parts.path)).as_posix() if parts.path else page
        path = _normalise(path)
        if not (path in PAGES or (DOCS / path).is_file()):
            broken.append(f"{target}: no such file {path}")
            continue
        checkable = path in PAGES and ":::" not in PAGES[path]
        if parts.fragment and checkable and parts.fragment not in _anchors(PAGES[path]):
            broken.append(f"{target}: no anchor #{parts.fragment} in {path}")
    assert broken == [], broken


def _normalise(path: str) -> str:
    out: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if out:
                out.pop()
        elif part not in {"", "."}:
            out.append(part)
    return "/".join(out)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "a" and values.get("name"):
            self.ids.add(str(values["name"]))
        for key in ("href", "src"):
            if values.get(key) and tag in {"a", "img", "script", "link"}:
                self.refs.append(str(values[key]))


def _parse(path: Path) -> _Collector:
    collector = _Collector()
    collector.feed(path.read_text(encoding="utf-8"))
    return collector


def test_built_site_has_no_broken_internal_link(built_site: Path) -> None:
    # 404.html is served from any depth, so it uses absolute URLs (from site_url).
    parsed = {
        path: _parse(path)
        for path in built_site.rglob("*.html")
        if path.name != "404.html"
    }
    assert len(parsed) > 20
    broken, checked = [], 0
    for page, info in parsed.items():
        for ref in info.refs:
            parts = urlsplit(ref)
            if parts.scheme or ref.startswith(("//", "mailto:")):
                continue
            target = page
            if parts.path:
                target = (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.exists():
                broken.append(f"{page.relative_to(built_site)}: {ref}")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else _parse(target).ids
                if parts.fragment not in ids:
                    broken.append(f"{page.relative_to(built_site)}: {ref} (no anchor)")
    assert checked > 500
    assert broken == [], broken[:20]


def test_endpoint_pages_are_generated_in_the_build(built_site: Path) -> None:
    page = built_site / "reference" / "endpoints" / "payments" / "index.html"
    html = page.read_text(encoding="utf-8")
    assert 'id="payments_create"' in html
    assert "PAYMENTS_WRITE" in html
    assert "Idempotency-Key" in html


REPO_FILES = "https://github.com/nuvera/nuvera-python/"


def test_readme_links_resolve() -> None:
    # Absolute: PyPI renders the README away from the repository.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    relative = [t for t in _links(readme) if not urlsplit(t).scheme]
    assert relative == [], "README links must be absolute (PyPI shows the README)"
    ours = [t for t in _links(readme) if t.startswith(REPO_FILES)]
    assert len(ours) >= 10
    missing = []
    for target in ours:
        kind, _, path = target[len(REPO_FILES) :].partition("/main/")
        assert kind in ("blob", "tree"), target
        if not (ROOT / urlsplit(path).path).exists():
            missing.append(target)
    assert missing == []


def test_guides_do_not_link_to_generated_pages() -> None:
    # The reference pages exist only in the built site: on GitHub such a link is
    # broken, so guides link to the published site instead.
    generated = re.compile(r"(^|/)reference/(endpoints|api)/")
    offenders = []
    for page in [*(DOCS / "guides").glob("*.md"), DOCS / "cli.md"]:
        text = page.read_text(encoding="utf-8")
        offenders += [
            f"{page.name}: {t}"
            for t in _links(text)
            if not urlsplit(t).scheme and generated.search(t)
        ]
    assert offenders == []
