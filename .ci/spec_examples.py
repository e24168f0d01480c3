"""Every example in the OpenAPI document validates against its schema.

Reads the document (a file, YAML or JSON, or the URL a server serves it
at) and checks each `example` and each `examples.*.value` of a media type
(request bodies, responses, components' responses) against that media
type's schema, as JSON Schema 2020-12 (what OpenAPI 3.1 uses) with formats
checked. Prints one line per example and exits non-zero when any fails.

Usage: python3 .ci/spec_examples.py URL-OR-FILE
"""

import json
import sys
import urllib.request

import jsonschema


def load(where):
    if where.startswith("http://") or where.startswith("https://"):
        with urllib.request.urlopen(where) as r:
            return json.load(r)
    with open(where, encoding="utf-8") as f:
        text = f.read()
    if where.endswith(".json"):
        return json.loads(text)
    import yaml  # only for a YAML file

    return yaml.safe_load(text)


def pointer(parts):
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def media_types(doc):
    """(where, schema pointer, examples) of every media type with examples."""
    def walk(node, parts):
        if isinstance(node, dict):
            if "content" in node and isinstance(node["content"], dict):
                for mt, obj in node["content"].items():
                    if not isinstance(obj, dict) or "schema" not in obj:
                        continue
                    found = []
                    if "example" in obj:
                        found.append(("example", obj["example"]))
                    for name, ex in (obj.get("examples") or {}).items():
                        if isinstance(ex, dict) and "value" in ex:
                            found.append((name, ex["value"]))
                    if found:
                        yield (
                            " ".join(str(p) for p in parts + [mt]),
                            pointer(parts + ["content", mt, "schema"]),
                            found,
                        )
            for k, v in node.items():
                if k != "content" or not isinstance(v, dict):
                    yield from walk(v, parts + [k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, parts + [i])

    yield from walk(doc.get("paths", {}), ["paths"])
    yield from walk(doc.get("components", {}).get("responses", {}), ["components", "responses"])


def main():
    doc = load(sys.argv[1])
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    failed = 0
    count = 0
    for where, ptr, examples in media_types(doc):
        # The whole document as the root, so that `#/components/...` resolve;
        # its other keys are no JSON Schema keywords and are ignored.
        schema = dict(doc)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$ref"] = ptr
        validator = jsonschema.Draft202012Validator(schema, format_checker=checker)
        for name, value in examples:
            count += 1
            errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
            if errors:
                failed += 1
                print(f"FAILED {where} [{name}]")
                for e in errors[:5]:
                    print(f"    at {'/'.join(map(str, e.path)) or '(root)'}: {e.message[:300]}")
            else:
                print(f"ok     {where} [{name}]")
    print(f"spec examples: {count - failed} valid, {failed} invalid")
    if count == 0:
        print("spec examples: none found")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
