"""The endpoint pages generated from openapi.yaml show every operation in full."""

from __future__ import annotations

import re

from .openapi_support import load_hook, load_openapi, operations, resolve

HOOK = load_hook()
DOC = load_openapi()
PAGES: dict[str, str] = HOOK.render_pages(DOC)


def _section(page: str, op_id: str) -> str:
    start = page.index(f"{{#{op_id}}}")
    end = page.find("\n## ", start)
    return page[start : end if end != -1 else None]


def test_one_page_per_area_plus_an_overview() -> None:
    expected = {f"reference/endpoints/{HOOK.slug(t['name'])}.md" for t in DOC["tags"]}
    assert set(PAGES) == expected | {"reference/endpoints/index.md"}


def test_every_operation_is_rendered_with_its_parameters_and_errors() -> None:
    for method, path, op in operations(DOC):
        page = PAGES[f"reference/endpoints/{HOOK.slug(op['tags'][0])}.md"]
        section = _section(page, op["operationId"])
        assert f"`{method} {path}`" in section
        assert f"Permission: `{op['x-nuvera-permission']}`" in section
        assert op["x-nuvera-python"] in section
        for param in op.get("parameters", []):
            assert f"| `{resolve(DOC, param)['name']}` |" in section
        for status in op["responses"]:
            if status.startswith("2"):
                assert f"**Response `{status}`**" in section
            else:
                assert f"\n| {status} |" in section, (op["operationId"], status)
        if "requestBody" in op:
            for media in op["requestBody"]["content"]:
                assert f"`{media}`" in section


def test_request_fields_appear_in_tables_with_required_flags() -> None:
    page = PAGES["reference/endpoints/customers.md"]
    section = _section(page, "customers_create")
    assert re.search(r"\| `email` \| string \| yes \|", section)
    assert re.search(r"\| `phone` \| .* \| no \|", section)
    schema_section = page[page.index("{#schema-customercreaterequest}") :]
    assert "Unknown fields are refused (422)." in schema_section.split("\n### ")[0]


def test_every_linked_schema_has_a_section_on_the_page() -> None:
    for name, page in PAGES.items():
        linked = set(re.findall(r"\]\(#(schema-[a-z0-9-]+)\)", page))
        defined = set(re.findall(r"\{#(schema-[a-z0-9-]+)\}", page))
        assert linked <= defined, (name, linked - defined)


def test_the_overview_lists_all_operations_and_error_codes() -> None:
    index = PAGES["reference/endpoints/index.md"]
    for _, _, op in operations(DOC):
        assert f"#{op['operationId']})" in index
    for code in DOC["components"]["schemas"]["ErrorCode"]["enum"]:
        assert f"`{code}`" in index, code
