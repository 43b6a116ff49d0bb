"""Owns the endpoint reference pages: rendered from docs/openapi.yaml at build time.

Registered under ``hooks:`` in ``mkdocs.yml``. ``on_files`` adds one generated page per
OpenAPI tag (``reference/endpoints/<tag>.md``) plus an overview
(``reference/endpoints/index.md``); nothing is written to ``docs/``. The functions
``render_pages`` and ``load_spec`` are plain Python so tests can render the pages
without MkDocs.

``on_page_markdown`` fills the worked example of the signing guide from
``docs/spec/vectors.json`` (so the guide can never disagree with the vectors), and
lets a development build go on while a module documented with ``::: module`` does not
exist yet, but only when ``NUVERA_DOCS_ALLOW_MISSING=1``; the normal (and CI) build
fails on it.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger("mkdocs.plugins.nuvera.openapi_pages")

SPEC_PATH = Path(__file__).resolve().parents[1] / "openapi.yaml"
VECTORS_PATH = Path(__file__).resolve().parents[1] / "spec" / "vectors.json"
WORKED_EXAMPLE_MARKER = "<!-- nuvera:worked-example -->"
WORKED_EXAMPLES = ("post-json-non-ascii", "post-multipart")
EXAMPLE_MARKER = re.compile(r"^<!-- nuvera:example (examples/[\w.-]+\.py) -->$", re.M)
REPO_ROOT = Path(__file__).resolve().parents[2]
PAGES_DIR = "reference/endpoints"
METHODS = ("get", "put", "post", "patch", "delete")
ALLOW_MISSING_ENV = "NUVERA_DOCS_ALLOW_MISSING"


# ---------------------------------------------------------------------- loading


def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    """Parse the OpenAPI file."""
    with path.open(encoding="utf-8") as handle:
        spec: dict[str, Any] = yaml.safe_load(handle)
    return spec


def slug(text: str) -> str:
    """Return the page or anchor slug of a tag or schema name."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _deref(spec: Mapping[str, Any], node: Any) -> Any:
    for _ in range(20):
        if not (isinstance(node, Mapping) and "$ref" in node):
            return node
        target: Any = spec
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    raise ValueError("reference cycle")


def _ref_name(node: Any) -> str | None:
    if isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
        ref: str = node["$ref"]
        if ref.startswith("#/components/schemas/"):
            return ref.rsplit("/", 1)[1]
    return None


def _operations(spec: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                op = dict(item[method])
                op["parameters"] = [
                    *item.get("parameters", []),
                    *op.get("parameters", []),
                ]
                yield method.upper(), path, op


# -------------------------------------------------------------------- rendering


def _cell(text: object) -> str:
    """Make text safe for one Markdown table cell."""
    flat = " ".join(str(text).split())
    # A pipe would end the cell; inside backticks Python-Markdown keeps it.
    parts = flat.split("`")
    for index in range(0, len(parts), 2):
        parts[index] = parts[index].replace("|", "\\|")
    return "`".join(parts)


def _code(text: object) -> str:
    value = str(text)
    fence = "``" if "`" in value else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def type_of(spec: Mapping[str, Any], schema: Any) -> str:
    """Describe a schema's type in a few words, linking named schemas."""
    name = _ref_name(schema)
    if name is not None:
        return f"[{name}](#{slug('schema-' + name)})"
    if not isinstance(schema, Mapping):
        return "any"
    if "const" in schema:
        return _code(_json(schema["const"]))
    for keyword in ("oneOf", "anyOf"):
        if keyword in schema:
            return " or ".join(type_of(spec, item) for item in schema[keyword])
    kind = schema.get("type")
    if kind == "array":
        return f"array of {type_of(spec, schema.get('items', {}))}"
    if isinstance(kind, list):
        words = [k for k in kind if k != "null"]
        base = type_of(spec, {**schema, "type": words[0]}) if len(words) == 1 else ""
        return f"{base or ' or '.join(words)} or null" if "null" in kind else base
    if "enum" in schema:
        return "one of " + ", ".join(_code(_json(value)) for value in schema["enum"])
    if kind == "string" and "contentMediaType" in schema:
        return "file"
    if (
        kind == "object"
        and "additionalProperties" in schema
        and not schema.get("properties")
    ):
        inner = schema["additionalProperties"]
        if isinstance(inner, Mapping):
            return f"object of {type_of(spec, inner)}"
    return str(kind or "any")


def _json(value: object) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def constraints(schema: Any) -> str:
    """List a schema's validation keywords in words."""
    if not isinstance(schema, Mapping):
        return ""
    out = []
    labels = {
        "format": "format {}",
        "pattern": "pattern {}",
        "minLength": "min length {}",
        "maxLength": "max length {}",
        "minimum": "≥ {}",
        "maximum": "≤ {}",
        "maxProperties": "at most {} entries",
        "minProperties": "at least {} field(s)",
        "default": "default {}",
    }
    for key, label in labels.items():
        if key in schema:
            value = schema[key]
            shown = _code(value) if key in {"pattern", "default"} else str(value)
            out.append(label.format(shown))
    return "; ".join(out)


def _describe(spec: Mapping[str, Any], schema: Any) -> str:
    """Description plus constraints of a property (following one ``$ref``)."""
    own = schema.get("description", "") if isinstance(schema, Mapping) else ""
    target = _deref(spec, schema)
    text = own or (target.get("description", "") if _ref_name(schema) is None else "")
    rules = constraints(target if _ref_name(schema) is None else schema)
    if _ref_name(schema) is not None and not rules:
        rules = constraints({k: v for k, v in target.items() if k != "pattern"})
        if target.get("type") != "object" and "pattern" in target:
            rules = "; ".join(
                filter(None, [rules, f"pattern {_code(target['pattern'])}"])
            )
    return " ".join(filter(None, [text, f"({rules})" if rules else ""]))


def schema_table(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Render an object schema's properties as a Markdown table."""
    required = set(schema.get("required", []))
    lines = ["| field | type | required | description |", "|---|---|---|---|"]
    for name, prop in schema.get("properties", {}).items():
        lines.append(
            "| "
            + " | ".join(
                [
                    _code(name),
                    _cell(type_of(spec, prop)),
                    "yes" if name in required else "no",
                    _cell(_describe(spec, prop)),
                ]
            )
            + " |"
        )
    return lines


def referenced_schemas(spec: Mapping[str, Any], roots: list[Any]) -> list[str]:
    """Return the names of every schema reachable from ``roots``, in discovery order."""
    seen: list[str] = []
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            name = _ref_name(node)
            if name is not None:
                if name not in seen:
                    seen.append(name)
                    stack.append(spec["components"]["schemas"][name])
                continue
            if "$ref" in node:  # a parameter, response or header component
                stack.append(_deref(spec, node))
                continue
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))
    return seen


def render_schema(spec: Mapping[str, Any], name: str) -> list[str]:
    """Render one named schema: heading, description, and its table or its type."""
    schema = spec["components"]["schemas"][name]
    lines = [f"### {name} {{#{slug('schema-' + name)}}}", ""]
    if schema.get("description"):
        lines += [" ".join(schema["description"].split()), ""]
    if "properties" in schema:
        lines += schema_table(spec, schema)
        closed = schema.get("additionalProperties") is False
        note = (
            "Unknown fields are refused (422)."
            if closed
            else "Clients must ignore fields they do not know."
        )
        lines += ["", note]
    elif "oneOf" in schema:
        lines.append("One of: " + ", ".join(type_of(spec, v) for v in schema["oneOf"]))
    else:
        rules = constraints(schema)
        lines.append(
            f"Type: {type_of(spec, {**schema})}" + (f" ({rules})." if rules else ".")
        )
    return [*lines, ""]


def _body_lines(
    spec: Mapping[str, Any], label: str, content: Mapping[str, Any]
) -> list[str]:
    lines: list[str] = []
    for media, media_object in content.items():
        schema = media_object.get("schema", {})
        name = _ref_name(schema)
        target = _deref(spec, schema)
        lines.append(f"**{label}** {_code(media)}: {type_of(spec, schema)}")
        lines.append("")
        if name is None and target.get("description"):
            lines += [" ".join(target["description"].split()), ""]
        if "properties" in target:
            lines += [*schema_table(spec, target), ""]
        for variant in target.get("oneOf", []):
            resolved = _deref(spec, variant)
            if "properties" in resolved:
                lines += [f"One of the shapes, {type_of(spec, variant)}:", ""]
                lines += [*schema_table(spec, resolved), ""]
    return lines


def render_operation(
    spec: Mapping[str, Any], method: str, path: str, op: dict[str, Any]
) -> list[str]:
    """Render one operation as a page section."""
    lines = [
        f"## {op['summary']} {{#{op['operationId']}}}",
        "",
        f"`{method} {path}`",
        "",
        f"- Permission: `{op['x-nuvera-permission']}`",
        f"- Operation id: `{op['operationId']}`",
    ]
    if op.get("x-nuvera-python"):
        lines.append(
            f"- Python: `{op['x-nuvera-python']}()` (and on `AsyncNuveraClient`)"
        )
    lines.append("")
    if op.get("description"):
        lines += [op["description"].strip(), ""]
    params = [_deref(spec, p) for p in op["parameters"]]
    if params:
        lines += [
            "**Parameters**",
            "",
            "| name | in | type | required | description |",
            "|---|---|---|---|---|",
        ]
        for param in params:
            lines.append(
                "| "
                + " | ".join(
                    [
                        _code(param["name"]),
                        param["in"],
                        _cell(type_of(spec, param["schema"])),
                        "yes" if param.get("required") else "no",
                        _cell(
                            " ".join(
                                filter(
                                    None,
                                    [
                                        param.get("description", "").split("\n\n")[0],
                                        _paren(
                                            constraints(_deref(spec, param["schema"]))
                                        ),
                                    ],
                                )
                            )
                        ),
                    ]
                )
                + " |"
            )
        lines.append("")
    body = op.get("requestBody")
    if body is not None:
        lines += _body_lines(spec, "Request body", _deref(spec, body)["content"])
    else:
        lines += ["**Request body**: none (an empty body).", ""]
    errors: list[tuple[str, str]] = []
    for status, response in op["responses"].items():
        resolved = _deref(spec, response)
        if status.startswith("2"):
            lines += [f"**Response `{status}`**: {resolved['description'].strip()}", ""]
            headers = ", ".join(_code(h) for h in resolved.get("headers", {}))
            if headers:
                lines += [f"Headers: {headers}.", ""]
            lines += _body_lines(spec, "Body", resolved.get("content", {}))
        else:
            errors.append((status, resolved["description"]))
    lines += ["**Errors**", "", "| status | when |", "|---|---|"]
    lines += [f"| {status} | {_cell(text)} |" for status, text in errors]
    return [*lines, ""]


def _paren(text: str) -> str:
    return f"({text})" if text else ""


def render_tag_page(spec: Mapping[str, Any], tag: Mapping[str, Any]) -> str:
    """Render the page of one tag (one permission area)."""
    ops = [
        (m, p, op)
        for m, p, op in _operations(spec)
        if tag["name"] in op.get("tags", [])
    ]
    lines = [
        f"# {tag['name']}",
        "",
        "<!-- Generated from docs/openapi.yaml by docs/hooks/openapi_pages.py. -->",
        "",
        " ".join(tag.get("description", "").split()),
        "",
        "| method | path | permission | operation |",
        "|---|---|---|---|",
    ]
    for method, path, op in ops:
        lines.append(
            f"| `{method}` | `{path}` | `{op['x-nuvera-permission']}` "
            f"| [{op['summary']}](#{op['operationId']}) |"
        )
    lines += [
        "",
        "Every operation needs the `x-api-key` header and a signed "
        "`Authorization: Bearer` token ([Sign requests](../../guides/signing.md)); "
        "errors use the shape in [Errors](index.md#errors).",
        "",
    ]
    roots: list[Any] = []
    for method, path, op in ops:
        lines += render_operation(spec, method, path, op)
        roots.append(op)
    lines += ["## Schemas", ""]
    for name in referenced_schemas(spec, roots):
        lines += render_schema(spec, name)
    return "\n".join(lines).rstrip() + "\n"


def render_index(spec: Mapping[str, Any]) -> str:
    """Render the overview: servers, authentication, conventions, operations."""
    info = spec["info"]
    lines = [
        "# Endpoint reference",
        "",
        "<!-- Generated from docs/openapi.yaml by docs/hooks/openapi_pages.py. -->",
        "",
        f"{info['title']} {info['version']}. These pages are generated from "
        "[`openapi.yaml`](../../openapi.yaml) (OpenAPI 3.1), the one place where the "
        "request and response schemas are decided; the sandbox and the SDK are tested "
        "against it.",
        "",
        "## Servers",
        "",
        "| base URL | |",
        "|---|---|",
    ]
    lines += [
        f"| `{s['url']}` | {_cell(s.get('description', ''))} |" for s in spec["servers"]
    ]
    lines += ["", "## Conventions", "", info["description"].strip(), ""]
    lines += ["## Authentication", ""]
    for name, scheme in spec["components"]["securitySchemes"].items():
        lines += [f"### {name}", "", scheme["description"].strip(), ""]
    lines += [
        "## Operations",
        "",
        "| method | path | permission | operation |",
        "|---|---|---|---|",
    ]
    for tag in spec["tags"]:
        page = f"{slug(tag['name'])}.md"
        for method, path, op in _operations(spec):
            if tag["name"] in op.get("tags", []):
                lines.append(
                    f"| `{method}` | `{path}` | `{op['x-nuvera-permission']}` "
                    f"| [{op['summary']}]({page}#{op['operationId']}) |"
                )
    lines += ["", "## Errors", ""]
    lines += [
        "Every error has this shape; `details` is always present (`{}` when empty).",
        "",
        "```json",
        '{"error": {"type": "permission_error", "code": "permission_denied",',
        ' "message": "This application lacks PAYMENTS_WRITE.",',
        ' "request_id": "req_8f2Qw1ZxYc0a",',
        ' "details": {"required_permission": "PAYMENTS_WRITE"}}}',
        "```",
        "",
        "| status | response | when |",
        "|---|---|---|",
    ]
    statuses = {
        "BadRequest": 400, "Unauthorized": 401, "Forbidden": 403, "NotFound": 404,
        "MethodNotAllowed": 405, "IdempotencyConflict": 409, "StateConflict": 409,
        "PayloadTooLarge": 413, "UnsupportedMediaType": 415, "ValidationFailed": 422,
        "RateLimited": 429, "InternalError": 500, "Unavailable": 503,
    }  # fmt: skip
    for name, response in spec["components"]["responses"].items():
        lines.append(
            f"| {statuses.get(name, '')} | {name} | {_cell(response['description'])} |"
        )
    lines += ["", "The error schemas, field by field:", ""]
    for name in ("Error", "ErrorObject", "ErrorType", "ErrorCode", "ErrorDetails"):
        lines += render_schema(spec, name)
    return "\n".join(lines).rstrip() + "\n"


def render_pages(spec: Mapping[str, Any]) -> dict[str, str]:
    """Return ``{docs-relative path: markdown}`` for every generated page."""
    pages = {f"{PAGES_DIR}/index.md": render_index(spec)}
    for tag in spec["tags"]:
        pages[f"{PAGES_DIR}/{slug(tag['name'])}.md"] = render_tag_page(spec, tag)
    return pages


# --------------------------------------------------------------- worked example


def load_vectors(path: Path = VECTORS_PATH) -> dict[str, Any]:
    """Parse the signing test vectors."""
    with path.open(encoding="utf-8") as handle:
        vectors: dict[str, Any] = json.load(handle)
    return vectors


def _show_bytes(data: bytes) -> str:
    r"""Show a body readably: text as is, other bytes as \xNN, CRLF as ␍␊."""
    out = []
    for line in data.split(b"\r\n"):
        text = "".join(
            chr(byte) if 0x20 <= byte < 0x7F else f"\\x{byte:02x}" for byte in line
        )
        try:
            decoded = line.decode("utf-8")
        except UnicodeDecodeError:
            decoded = None
        if decoded is not None and decoded.isprintable():
            text = decoded
        out.append(text)
    return "␍␊\n".join(out)


def render_worked_example(vectors: Mapping[str, Any], name: str) -> str:
    """Render one vector as the five signing steps, every value taken from the file."""
    vector = next(v for v in vectors["vectors"] if v["name"] == name)
    given, expected = vector["input"], vector["output"]
    key = vectors["keys"][given["key"]]
    body = base64.b64decode(given.get("body_base64") or "")
    if hashlib.sha256(body).hexdigest() != expected["body_hash"]:
        raise ValueError(f"vector {name}: body_hash does not match its body")
    headers = given.get("headers") or {}
    header_lines = "".join(f"\n{k}: {v}" for k, v in headers.items())
    head, payload, signature = expected["token"].split(".")
    lines = [
        f"**Vector `{name}`** of [`vectors.json`](../spec/vectors.json)"
        + (f": {vector['note']}." if vector.get("note") else "."),
        "",
        f"1. **Inputs.** Key `{given['key']}` ({key.get('bits', '?')}-bit RSA, in the "
        "file's `keys`; a public test key, never use it elsewhere), "
        f"`iat = {given['iat']}`, `jti = {given['jti']}`, `ttl = {given['ttl']}`. "
        "The request:",
        "",
        "    ```http",
        *(
            f"    {line}"
            for line in (
                f"{given['method']} {given['uri']} HTTP/1.1{header_lines}".splitlines()
            )
        ),
        "    ```",
        "",
        f"    with this body of {len(body)} bytes:",
        "",
        "    ```text",
        *(f"    {line}" for line in (_show_bytes(body) or "(empty)").splitlines()),
        "    ```",
        "",
        f"2. **`body_hash`** = SHA-256 of those bytes: `{expected['body_hash']}`. "
        f"**`uri`** = `{expected['signed_uri']}`. **`kid`** = `{expected['kid']}`.",
        "3. **Header and claims**, canonical JSON:",
        "",
        "    ```json",
        f"    {expected['header_json']}",
        "    ```",
        "",
        "    ```json",
        f"    {expected['payload_json']}",
        "    ```",
        "",
        "4. **Signing input**: base64url (no padding) of each, joined by `.`:",
        "",
        "    ```text",
        f"    {head}",
        f"    .{payload}",
        "    ```",
        "",
        "5. **Signature** (RS256 over the ASCII signing input), base64url; the token "
        "is `<signing input>.<signature>`:",
        "",
        "    ```text",
        f"    {signature}",
        "    ```",
        "",
    ]
    return "\n".join(lines)


def worked_examples(vectors: Mapping[str, Any]) -> str:
    """Render the signing guide's worked examples (JSON, then multipart)."""
    titles = {"post-json-non-ascii": "JSON", "post-multipart": "Multipart"}
    parts = [
        "Every value below is read from the test vectors when the site is built. "
        "Reproduce them with your own code: the same inputs must give the same bytes.",
        "",
    ]
    for name in WORKED_EXAMPLES:
        parts += [f"### {titles[name]}", "", render_worked_example(vectors, name)]
    return "\n".join(parts)


# ------------------------------------------------------------------ mkdocs hooks


def on_files(files: Any, config: Any) -> Any:
    """Add the generated endpoint pages to the build."""
    from mkdocs.structure.files import File

    for src_uri, content in render_pages(load_spec()).items():
        files.append(File.generated(config, src_uri, content=content))
    return files


_DIRECTIVE = re.compile(r"^:::\s+([\w.]+)\s*$", re.MULTILINE)


def _module_exists(name: str) -> bool:
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        return False
    # A directory without __init__.py is a namespace package: nothing to document yet.
    return spec is not None and spec.origin is not None


def include_examples(markdown: str) -> str:
    """Replace each example marker with the script's source, as a code block.

    Raises:
        FileNotFoundError: a marker names a script that does not exist.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        source = (REPO_ROOT / name).read_text(encoding="utf-8").rstrip("\n")
        return f'```python title="{name}"\n{source}\n```'

    return EXAMPLE_MARKER.sub(replace, markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Fill worked examples and example sources; in development, stub missing APIs."""
    markdown = include_examples(markdown)
    if WORKED_EXAMPLE_MARKER in markdown:
        if VECTORS_PATH.is_file():
            markdown = markdown.replace(
                WORKED_EXAMPLE_MARKER, worked_examples(load_vectors())
            )
        else:
            log.warning("docs: %s is missing; no worked example", VECTORS_PATH.name)
    if os.environ.get(ALLOW_MISSING_ENV) != "1":
        return markdown

    def replace(match: re.Match[str]) -> str:
        module = match.group(1)
        if _module_exists(module):
            return match.group(0)
        log.info("docs: %s does not exist yet; page left as a stub", module)
        return f'!!! note "Not yet available"\n    `{module}` is not in this build yet.'

    return _DIRECTIVE.sub(replace, markdown)
