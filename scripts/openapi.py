#!/usr/bin/env python3
"""The API contract's generator: docs/openapi.yaml is the source; this writes what is derived from it.

    python3 scripts/openapi.py generate   # writes docs/openapi.json, docs/API.md and the server's embedded copy
    python3 scripts/openapi.py check      # exits 1 naming every derived file that is stale (./test.sh runs it)

Needs PyYAML (and nothing else).
"""
import json
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = ROOT / "docs/openapi.yaml"
JSON_OUT = ROOT / "docs/openapi.json"
MARKDOWN_OUT = ROOT / "docs/API.md"
SWIFT_OUT = ROOT / "Sources/MessengerApp/OpenAPI/OpenAPIDocument+JSON.swift"
METHODS = ["get", "post", "put", "patch", "delete"]


def load():
    with SOURCE.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def json_text(doc):
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def swift_text(doc):
    """The compact JSON as chunks of raw string literals (short lines, no escaping to get wrong)."""
    compact = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    assert '"##' not in compact
    chunks, line = [], ""
    for ch in compact:
        line += ch
        if len(line) >= 100:
            chunks.append(line)
            line = ""
    if line:
        chunks.append(line)
    body = "\n".join(f'        ##"{c}"##,' for c in chunks)
    return (
        "// Generated from docs/openapi.yaml by scripts/openapi.py: do not edit.\n\n"
        "/// The OpenAPI 3.1 document served at `GET /api/openapi.json`.\n"
        "enum OpenAPIDocument {\n"
        "    static let json: String = [\n"
        f"{body}\n"
        '    ].joined()\n'
        "}\n"
    )


def ref_name(schema):
    if isinstance(schema, dict) and "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    return None


def describe_schema(schema):
    """A short text for a schema in a table cell."""
    if schema is None:
        return ""
    name = ref_name(schema)
    if name:
        return name
    if "oneOf" in schema:
        return " \\| ".join(describe_schema(s) for s in schema["oneOf"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " \\| ".join(kind)
    if kind == "array":
        return describe_schema(schema.get("items")) + "[]"
    text = kind or "object"
    limits = []
    if "minimum" in schema or "maximum" in schema:
        limits.append(f"{schema.get('minimum', '')}…{schema.get('maximum', '')}")
    if "minLength" in schema or "maxLength" in schema:
        limits.append(f"length {schema.get('minLength', 0)}…{schema.get('maxLength', '')}")
    if "enum" in schema:
        limits.append(" \\| ".join(f"`{v}`" for v in schema["enum"]))
    if "const" in schema:
        limits.append(f"`{schema['const']}`")
    if "pattern" in schema:
        limits.append(f"`{schema['pattern']}`")
    return text + (f" ({', '.join(limits)})" if limits else "")


def resolve(doc, node):
    name = ref_name(node)
    if not name:
        return node
    kind = node["$ref"].split("/")[2]
    return doc["components"][kind][name]


def cell(text):
    return " ".join((text or "").split()).replace("|", "\\|")


def markdown_text(doc):
    out = [
        "# messenger HTTP API",
        "",
        "<!-- Generated from docs/openapi.yaml by scripts/openapi.py: do not edit; edit the YAML and run"
        " `python3 scripts/openapi.py generate`. -->",
        "",
        f"Version {doc['info']['version']}. The machine-readable contract is [openapi.json](openapi.json) (OpenAPI"
        " 3.1), also served by every server at `GET /api/openapi.json`.",
        "",
        doc["info"]["description"].rstrip(),
        "",
    ]
    operations = {}
    for path, item in doc["paths"].items():
        shared = item.get("parameters", [])
        for method in METHODS:
            if method in item:
                op = item[method]
                operations.setdefault(op["tags"][0], []).append((path, method, op, shared))
    default_security = doc.get("security", [])
    for tag in doc["tags"]:
        ops = operations.get(tag["name"], [])
        if not ops:
            continue
        out += [f"## {tag['name'].capitalize()}", "", tag.get("description", "").rstrip(), ""]
        for path, method, op, shared in ops:
            out += [f"### `{method.upper()} {path}`", "", op["summary"]]
            if op.get("description"):
                out += ["", op["description"].rstrip()]
            security = op.get("security", default_security)
            out += ["", "Auth: " + ("the guard (bearer token or `?token=`)." if security else "none."), ""]
            params = [resolve(doc, p) for p in shared + op.get("parameters", [])]
            if params:
                out += ["| parameter | in | type | required | meaning |", "|---|---|---|---|---|"]
                for p in params:
                    out.append(
                        f"| `{p['name']}` | {p['in']} | {describe_schema(p.get('schema'))} | "
                        f"{'yes' if p.get('required') else 'no'} | {cell(p.get('description'))} |"
                    )
                out.append("")
            body = op.get("requestBody")
            if body:
                media = body["content"]["application/json"]
                required = "required" if body.get("required") else "optional"
                out.append(f"Body ({required}, `application/json`): {describe_schema(media['schema'])}.")
                example = media.get("example")
                if example is None and media.get("examples"):
                    example = [e["value"] for e in media["examples"].values()]
                if example is not None:
                    out.append(f"Example: `{json.dumps(example)}`.")
                out.append("")
            out += ["| status | meaning | body |", "|---|---|---|"]
            for status, response in op["responses"].items():
                response = resolve(doc, response)
                content = response.get("content", {})
                shapes = ", ".join(
                    f"{describe_schema(media.get('schema'))}" + ("" if kind == "application/json" else f" (`{kind}`)")
                    for kind, media in content.items()
                )
                out.append(f"| {status} | {cell(response['description'])} | {shapes or '—'} |")
            out.append("")
    out += ["## Shapes", ""]
    for name, schema in doc["components"]["schemas"].items():
        if schema.get("type") != "object" or "properties" not in schema:
            continue
        out += [f"### {name}", ""]
        if schema.get("description"):
            out += [schema["description"], ""]
        out += ["| field | type | required | meaning |", "|---|---|---|---|"]
        required = set(schema.get("required", []))
        for field, prop in schema["properties"].items():
            out.append(
                f"| `{field}` | {describe_schema(prop)} | {'yes' if field in required else 'no'} | "
                f"{cell(prop.get('description'))} |"
            )
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def outputs(doc):
    return {JSON_OUT: json_text(doc), MARKDOWN_OUT: markdown_text(doc), SWIFT_OUT: swift_text(doc)}


def main(argv):
    if len(argv) != 2 or argv[1] not in ("generate", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    doc = load()
    stale = []
    for path, text in outputs(doc).items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if argv[1] == "generate":
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
        else:
            stale.append(str(path.relative_to(ROOT)))
    if stale:
        print("stale (run `python3 scripts/openapi.py generate`): " + ", ".join(stale), file=sys.stderr)
        return 1
    if argv[1] == "check":
        print("openapi: docs/openapi.json, docs/API.md and the embedded copy match docs/openapi.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
