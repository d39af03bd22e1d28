#!/usr/bin/env python3
"""Check that Python's own loaders read the files cachet opened as cachet does.

Usage:  python3 tests/interop/check_loaders.py CASES.json

CASES.json (written by tests/it/interop.rs) is a list of objects with `format`
(`toml`, `json` or `yaml`), `opened` (a file cachet opened after a text was
sealed into one of its values) and `plain` (the same file with a harmless text
in that value). Each case passes when the format's loader (tomllib, a TOML 1.0
reader; json; PyYAML, a YAML 1.1 reader) reads `opened`, and reads it with the
same shape as `plain`: every node's path, and whether it is a table, an array
or a scalar. So the sealed text stayed one value to this loader too
(spec/format.md 8.3, 8.5, 8.6).

The last line is "N passed, M failed"; the exit status is 0 only if nothing
failed.
"""

from __future__ import annotations

import json
import sys
import tomllib


def load(fmt: str, text: str):
    if fmt == "toml":
        return [tomllib.loads(text)]
    if fmt == "json":
        return [json.loads(text)]
    if fmt == "yaml":
        import yaml

        return list(yaml.safe_load_all(text))
    raise ValueError(f"unknown format {fmt!r}")


def shape(docs) -> list[str]:
    out: list[str] = []

    def walk(v, at: str) -> None:
        if isinstance(v, dict):
            out.append(f"{at} table")
            for k, x in v.items():
                walk(x, f"{at}.{k!r}")
        elif isinstance(v, list):
            out.append(f"{at} array")
            for i, x in enumerate(v):
                walk(x, f"{at}[{i}]")
        else:
            out.append(f"{at} scalar")

    for i, d in enumerate(docs):
        walk(d, f"doc{i}")
    return out


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    passed = failed = 0
    for c in cases:
        want = shape(load(c["format"], c["plain"]))
        try:
            got = shape(load(c["format"], c["opened"]))
        except Exception as e:  # noqa: BLE001 - any loader error is a finding
            got = f"does not load: {type(e).__name__}"
        if got == want:
            passed += 1
        else:
            failed += 1
            print(f"  FAIL {c['format']}: {c['opened']!r}: {got} instead of {want}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
