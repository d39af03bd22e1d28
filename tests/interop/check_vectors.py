#!/usr/bin/env python3
"""Check the cachet v1 known-answer vectors with the independent Python
implementation in cachet_ref.py (written from spec/format.md only).

Usage (from anywhere):  python3 tests/interop/check_vectors.py

Groups:
  spec-examples      worked examples quoted in spec/format.md
  keys               identity -> recipient -> key id of testdata/vectors/v1.toml
  valid              each [[valid]] vector: written path, AAD, open, re-seal
  invalid            each [[invalid]] vector fails with exactly its error class
                     (steps 1-6 of 9.2, then the per-value check of 9.2 step 7
                     for TOML with tomllib and YAML with PyYAML)
  invalid_recipient  each [[invalid_recipient]] is refused as a recipient
  example            testdata/example/app.sealed.toml opens to app.toml

Every check counts once; the last line is "N passed, M failed". The exit
status is 0 only if nothing failed.

Limitation of the "example" group: there is no TOML parser with byte spans in
the standard library, so tokens are located with a minimal line-oriented
reader (see find_toml_tokens). It understands comments, blank lines, `[a.b]`
tables, `[[a]]` arrays of tables (with indexes, also nested), and
`dotted.key = value` lines whose value is a single-line basic or literal
string; any other value must fit on its line. A token inside an array or
inline table, or a multi-line value, is not supported and makes the group fail
loudly rather than being skipped silently. Its result is cross-checked with
tomllib (the set of token paths, and the set of nodes before and after
opening), but tomllib gives no spans, so the span part of the re-parse check
(9.3 step 4) and of the per-value check (9.2 step 7) is not done.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import cachet_ref as c  # noqa: E402


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.group_passed = 0
        self.group_failed = 0
        self.failures: list[str] = []

    def check(self, ok: bool, what: str) -> bool:
        if ok:
            self.group_passed += 1
        else:
            self.group_failed += 1
            self.failures.append(what)
            print(f"  FAIL {what}")
        return ok

    def run(self, what: str, fn) -> None:
        """Run fn(); it must return True. An exception is a failure."""
        try:
            ok = fn()
        except Exception as exc:  # report and go on
            print(f"  FAIL {what}: {type(exc).__name__}: {exc}")
            self.group_failed += 1
            self.failures.append(what)
            return
        self.check(bool(ok), what)

    def end_group(self, name: str) -> None:
        print(f"{name}: {self.group_passed} passed, {self.group_failed} failed")
        self.passed += self.group_passed
        self.failed += self.group_failed
        self.group_passed = self.group_failed = 0


def expect_error(fn, cls: str):
    """Return True if fn() raises CachetError of class `cls`."""
    try:
        fn()
    except c.CachetError as exc:
        if exc.cls != cls:
            print(f"    got {exc.cls} ({exc.detail}), expected {cls}")
        return exc.cls == cls
    print(f"    no error, expected {cls}")
    return False


def rejects(fn, exc_type=ValueError) -> bool:
    try:
        fn()
    except exc_type:
        return True
    return False


# ---------------------------------------------------------------------------
# Groups
# ---------------------------------------------------------------------------

def group_spec_examples(r: Results) -> None:
    # 1.4 base64url
    r.run("1.4 AAE decodes to 00 01", lambda: c.b64url_decode("AAE") == b"\x00\x01")
    r.run("1.4 AAF is rejected", lambda: rejects(lambda: c.b64url_decode("AAF")))
    r.run("1.4 padding '=' is rejected", lambda: rejects(lambda: c.b64url_decode("AAE=")))
    r.run("1.4 length 4k+1 is rejected", lambda: rejects(lambda: c.b64url_decode("AAAAA")))
    # 2.1 recipient example
    rec_text = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"
    rec_hex = "132c442be010fbd57e72603328aa76e71fccc1503aae219327d14d9c9993f472"
    r.run("2.1 recipient bytes", lambda: c.decode_recipient(rec_text).hex() == rec_hex)
    r.run("2.3 upper-case recipient accepted",
          lambda: c.decode_recipient(rec_text.upper()).hex() == rec_hex)
    r.run("2.3 mixed-case recipient rejected",
          lambda: rejects(lambda: c.decode_recipient("Age1" + rec_text[4:])))
    ident = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
    r.run("2.3 lower-case identity accepted",
          lambda: c.decode_identity(ident.lower()) == bytes([0x42]) * 32)
    r.run("2.3 recipient text is not an identity",
          lambda: rejects(lambda: c.decode_identity(rec_text)))
    # 2.4 identity file of the spec
    idfile = ("# created: 2026-11-29T03:40:36Z\r\n# public key: " + rec_text + "\r\n"
              "\r\n   " + ident + "  \r\n" + ident + "\n")
    r.run("2.4 identity file (CR LF, blank, comments, duplicate)",
          lambda: c.parse_identity_file(idfile) == [bytes([0x42]) * 32])
    # 3 key id
    r.run("3 key id digest",
          lambda: __import__("hashlib").sha256(b"cachet/v1/key-id" + bytes.fromhex(rec_hex)).hexdigest()
          == "40e0e11bd49ecaba4c3b93d2e8f57c5e7d7e6bce6083e87a680d6bff04bbeb8d")
    # 6 AAD example
    aad_hex = ("00000006636163686574" "000000027631" "0000000c40e0e11bd49ecaba4c3b93d2"
               "000000103230323631313239543132303030305a" "00000004746f6d6c" "00000000"
               "00000002" "6b000000086461746162617365" "6b0000000870617373776f7264")
    kid = bytes.fromhex("40e0e11bd49ecaba4c3b93d2")
    r.run("6 AAD example",
          lambda: c.aad(kid, "20261129T120000Z", "toml", 0,
                        c.parse_path("database.password")).hex() == aad_hex)
    r.run("6 index segments of tokens[0][2]",
          lambda: c.aad(kid, "20261129T120000Z", "toml", 0, c.parse_path("tokens[0][2]")).endswith(
              bytes.fromhex("6b00000006746f6b656e73" "690000000000000000" "690000000000000002")))
    # 7.2 padding example
    r.run("7.2 pad(\"hunter2\")",
          lambda: c.pad(b'"hunter2"') == bytes.fromhex("00000009" "2268756e7465723222") + bytes(19))
    r.run("7.2 pad lengths 0..28 -> 32, 29..60 -> 64",
          lambda: all(len(c.pad(bytes(n))) == (32 if n <= 28 else 64) for n in range(61)))
    # 8.2 written paths
    table = [
        ("database.password", [("k", "database"), ("k", "password")]),
        ("servers[0].token", [("k", "servers"), ("i", 0), ("k", "token")]),
        ('"odd.key".secret', [("k", "odd.key"), ("k", "secret")]),
        ('"q\\"\\\\".c', [("k", 'q"\\'), ("k", "c")]),
        ('"clé".mot_de_passe', [("k", "clé"), ("k", "mot_de_passe")]),
        ("tokens[0][2]", [("k", "tokens"), ("i", 0), ("i", 2)]),
        ("[2][0]", [("i", 2), ("i", 0)]),
        ('""', [("k", "")]),
    ]
    for text, segs in table:
        r.run(f"8.2 path {text}",
              lambda text=text, segs=segs: c.parse_path(text) == segs and c.format_path(segs) == text)
    for bad in ["", "a..b", ".a", "a.", "[01]", "[x]", 'a"b"', "[0]a", "a.[0]", '"a\\n"', "a b"]:
        r.run(f"8.2 path {bad!r} rejected",
              lambda bad=bad: rejects(lambda: c.parse_path(bad), c.PathError))
    # 4.1 sealed-at
    for t, ok in [("20240229T235959Z", True), ("21000229T000000Z", False), ("20000229T000000Z", True),
                  ("19691231T235959Z", False), ("20261301T000000Z", False), ("20261100T000000Z", False),
                  ("20261129T240000Z", False), ("20261129T235960Z", False), ("20261129t120000Z", False)]:
        r.run(f"4.1 sealed-at {t} {'valid' if ok else 'invalid'}",
              lambda t=t, ok=ok: c.valid_sealed_at(t) == ok)
    # 4.4 token candidates
    rest = ":v1:QODhG9SeyrpMO5PS:20261129T120000Z:AAAA"
    for s, ok in [("cachet:", True), ("Cachet" + rest, True), ("cachef" + rest, True),
                  ("cachet-v1" + rest[3:], True), ("hello", False), ("Cachet:v1:x", False)]:
        r.run(f"4.4 candidate {s[:20]!r} -> {ok}", lambda s=s, ok=ok: c.is_token_candidate(s) == ok)
    # 4.5 / 11.1 parse errors not covered by the vectors
    good = ("cachet:v1:QODhG9SeyrpMO5PS:20261129T120000Z:" + "A" * 139)
    for s, cls in [("Cachet:v1:x", "malformed"), ("cachet:", "malformed"), ("cachet:V1:a:b:c", "malformed"),
                   ("cachet:v01", "unsupported-version"), ("cachet:v123456:a", "malformed"),
                   ("cachet:v10:a:b", "unsupported-version"), (good + ":", "malformed"),
                   (" " + good, "malformed"), (good[:-1] + "=", "malformed")]:
        r.run(f"4.5 {s[:24]!r}... -> {cls}", lambda s=s, cls=cls: expect_error(lambda: c.parse_token(s), cls))
    r.run("4.5 minimal well-formed token parses", lambda: str(c.parse_token(good)) == good)


def group_keys(r: Results, vec: dict) -> list[bytes]:
    ident = c.decode_identity(vec["identity"])
    rec = c.recipient_of(ident)
    r.run("identity -> recipient text", lambda: c.encode_recipient(rec) == vec["recipient"])
    r.run("recipient text decodes to X25519(identity, 9)", lambda: c.decode_recipient(vec["recipient"]) == rec)
    r.run("identity text round-trips", lambda: c.encode_identity(ident) == vec["identity"])
    r.run("key id", lambda: c.b64url_encode(c.key_id(rec)) == vec["key_id"])
    return [ident]


def group_valid(r: Results, vec: dict, identities: list[bytes]) -> None:
    opener = c.Opener(identities)
    recipient = c.decode_recipient(vec["recipient"])
    for v in vec["valid"]:
        name = f"{v['name']!r}"
        fmt, doc, sealed_at = v["format"], v["document"], v["sealed_at"]
        raw = v["raw"].encode("utf-8")
        try:
            path = c.parse_path(v["path"])
        except c.PathError as exc:
            r.check(False, f"{name}: written path {v['path']!r}: {exc}")
            continue
        r.check(c.format_path(path) == v["path"], f"{name}: path is written canonically")
        r.run(f"{name}: AAD", lambda: c.aad(c.key_id(recipient), sealed_at, fmt, doc, path).hex() == v["aad"])

        def opened():
            got = opener.open(v["token"], fmt, doc, path)
            if got != raw:
                print(f"    opened {got!r}, expected {raw!r}")
                return False
            if fmt == "toml":
                c.toml_per_value_check(got)
            return True

        r.run(f"{name}: opens to raw", opened)

        def resealed():
            run = c.SealingRun(recipient, bytes.fromhex(v["ephemeral_secret"]), sealed_at)
            tok = run.seal(raw, bytes.fromhex(v["nonce"]), fmt, doc, path)
            if tok != v["token"]:
                print(f"    sealed {tok}")
                return False
            return True

        r.run(f"{name}: sealing reproduces the token", resealed)


def group_invalid(r: Results, vec: dict, identities: list[bytes]) -> None:
    opener = c.Opener(identities)
    for v in vec["invalid"]:
        cls = v["error"]
        if cls not in c.ERROR_CLASSES:
            r.check(False, f"{v['name']!r}: unknown error class {cls!r}")
            continue
        path = c.parse_path(v["path"])
        def open_and_check(v=v, path=path):
            raw = opener.open(v["token"], v["format"], v["document"], path)
            check = c.PER_VALUE_CHECKS.get(v["format"])
            if check is not None:
                check(raw)
            return raw

        r.run(f"{v['name']!r}: {cls}",
              lambda cls=cls, f=open_and_check: expect_error(f, cls))


def group_invalid_recipient(r: Results, vec: dict) -> None:
    for v in vec["invalid_recipient"]:
        r.run(f"{v['name']!r}: refused",
              lambda v=v: rejects(lambda: c.decode_recipient(v["recipient"]), c.KeyError_))


# ---------------------------------------------------------------------------
# Minimal TOML token finder for the bundled example (see module docstring)
# ---------------------------------------------------------------------------

class Unsupported(Exception):
    pass


_BASIC_ESCAPES = {'"': '"', "\\": "\\", "b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", "e": "\x1b"}
_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def _skip_ws(line: str, p: int) -> int:
    while p < len(line) and line[p] in " \t":
        p += 1
    return p


def _basic_string(line: str, p: int) -> tuple[str, int]:
    """line[p] is '"' (single-line basic string). Returns (decoded, end)."""
    out = []
    p += 1
    while True:
        if p >= len(line) or line[p] in "\r\n":
            raise Unsupported("unterminated basic string")
        ch = line[p]
        if ch == '"':
            return "".join(out), p + 1
        if ch == "\\":
            e = line[p + 1:p + 2]
            if e in _BASIC_ESCAPES:
                out.append(_BASIC_ESCAPES[e])
                p += 2
            elif e in ("u", "U", "x"):
                n = {"u": 4, "U": 8, "x": 2}[e]
                out.append(chr(int(line[p + 2:p + 2 + n], 16)))
                p += 2 + n
            else:
                raise Unsupported("escape not handled by the minimal reader")
            continue
        out.append(ch)
        p += 1


def _literal_string(line: str, p: int) -> tuple[str, int]:
    end = line.find("'", p + 1)
    if end < 0:
        raise Unsupported("unterminated literal string")
    return line[p + 1:end], end + 1


def _keys(line: str, p: int) -> tuple[list[str], int]:
    """A dotted key starting at p. Returns (decoded keys, position after)."""
    keys = []
    while True:
        p = _skip_ws(line, p)
        if p < len(line) and line[p] == '"':
            k, p = _basic_string(line, p)
        elif p < len(line) and line[p] == "'":
            k, p = _literal_string(line, p)
        else:
            s = p
            while p < len(line) and line[p] in _BARE:
                p += 1
            if p == s:
                raise Unsupported(f"cannot read a key at column {p + 1}")
            k = line[s:p]
        keys.append(k)
        p = _skip_ws(line, p)
        if p < len(line) and line[p] == ".":
            p += 1
            continue
        return keys, p


def _rest_is_comment(line: str, p: int) -> bool:
    p = _skip_ws(line, p)
    return p >= len(line) or line[p] in "#\r\n"


def find_toml_tokens(text: str) -> list[tuple[list, int, int, str]]:
    """Return (path, start, end, decoded content) for each top-level string
    value of a key/value line that is a token candidate (4.4). Offsets are
    character offsets into `text`; [start, end) is the span, quotes included."""
    found = []
    table: list = []  # typed path of the current table
    aot_counts: dict[tuple, int] = {}  # array-of-tables path -> entries so far
    offset = 0
    for lineno, line in enumerate(text.split("\n"), start=1):
        base = offset
        offset += len(line) + 1
        p = _skip_ws(line, 0)
        if p >= len(line) or line[p] in "#\r":
            continue
        try:
            if line.startswith("[", p):
                is_aot = line.startswith("[[", p)
                keys, q = _keys(line, p + (2 if is_aot else 1))
                closing = "]]" if is_aot else "]"
                if not line.startswith(closing, q) or not _rest_is_comment(line, q + len(closing)):
                    raise Unsupported("bad table header")
                typed: list = []
                for i, k in enumerate(keys):
                    typed.append(("k", k))
                    last = i == len(keys) - 1
                    if tuple(typed) in aot_counts and not (is_aot and last):
                        typed.append(("i", aot_counts[tuple(typed)] - 1))
                if is_aot:
                    n = aot_counts.get(tuple(typed), 0)
                    aot_counts[tuple(typed)] = n + 1
                    typed.append(("i", n))
                table = typed
                continue
            keys, q = _keys(line, p)
            if not line.startswith("=", q):
                raise Unsupported("expected '='")
            v = _skip_ws(line, q + 1)
            path = table + [("k", k) for k in keys]
            if line.startswith('"""', v) or line.startswith("'''", v):
                delim = line[v:v + 3]
                if line.find(delim, v + 3) < 0:
                    raise Unsupported("multi-line string")
                continue  # single-line multi-line-quoted string: not a token here
            if line.startswith('"', v) or line.startswith("'", v):
                content, e = (_basic_string if line[v] == '"' else _literal_string)(line, v)
                if not _rest_is_comment(line, e):
                    raise Unsupported("text after a string value")
                if c.is_token_candidate(content):
                    found.append((path, base + v, base + e, content))
                continue
            if line.startswith("[", v) or line.startswith("{", v):
                # Arrays and inline tables must close on this line; tokens
                # inside them are not looked for (the caller's tomllib
                # cross-check catches any it would miss).
                depth = 0
                for ch in line[v:]:
                    depth += ch in "[{"
                    depth -= ch in "]}"
                if depth:
                    raise Unsupported("array or inline table over several lines")
        except Unsupported as exc:
            raise Unsupported(f"line {lineno}: {exc}") from None
    return found


def toml_nodes(doc, prefix=()) -> dict:
    """All nodes of a tomllib document: typed path -> kind."""
    out = {}
    items = doc.items() if isinstance(doc, dict) else enumerate(doc)
    for k, val in items:
        path = prefix + ((("k", k),) if isinstance(doc, dict) else (("i", k),))
        if isinstance(val, dict):
            out[path] = "table"
            out.update(toml_nodes(val, path))
        elif isinstance(val, list):
            out[path] = "array"
            out.update(toml_nodes(val, path))
        else:
            out[path] = ("scalar", val)
    return out


def group_example(r: Results) -> None:
    ex = ROOT / "testdata" / "example"
    try:
        identities = c.parse_identity_file((ex / "test-identity.txt").read_text(encoding="utf-8"))
        sealed_bytes = (ex / "app.sealed.toml").read_bytes()
        expected = (ex / "app.toml").read_bytes()
        sealed = sealed_bytes.decode("utf-8")
        tokens = find_toml_tokens(sealed)
    except (OSError, c.KeyError_, Unsupported) as exc:
        r.check(False, f"example: cannot read: {exc}")
        return
    r.check(len(tokens) > 0, "example: tokens found")

    # Cross-check the line reader against tomllib: same token paths, same text.
    sealed_nodes = toml_nodes(tomllib.loads(sealed))
    tomllib_tokens = {p for p, k in sealed_nodes.items()
                      if k != "table" and k != "array" and isinstance(k[1], str) and c.is_token_candidate(k[1])}
    r.check(tomllib_tokens == {tuple(p) for p, *_ in tokens},
            "example: token paths agree with tomllib")
    r.check(all(sealed_nodes[tuple(p)] == ("scalar", content) for p, _, _, content in tokens),
            "example: token contents agree with tomllib")

    opener = c.Opener(identities)
    pieces, last, ok = [], 0, True
    for path, start, end, content in tokens:
        try:
            raw = opener.open(content, "toml", 0, path)
            c.toml_per_value_check(raw)
        except c.CachetError as exc:
            r.check(False, f"example: {c.format_path(path)}: {exc}")
            ok = False
            continue
        r.check(True, f"example: {c.format_path(path)} opens")
        pieces += [sealed[last:start], raw.decode("utf-8")]
        last = end
    if not ok:
        return
    opened = "".join(pieces + [sealed[last:]]).encode("utf-8")
    # Re-parse check (9.3 step 4) without spans: same nodes, same kinds.
    try:
        opened_nodes = toml_nodes(tomllib.loads(opened.decode("utf-8")))
        same = {p: (k if k in ("table", "array") else "scalar") for p, k in opened_nodes.items()} == \
               {p: (k if k in ("table", "array") else "scalar") for p, k in sealed_nodes.items()}
    except tomllib.TOMLDecodeError:
        same = False
    r.check(same, "example: re-parse check (nodes and kinds)")
    if not r.check(opened == expected, "example: opened file equals app.toml byte for byte"):
        for i, (a, b) in enumerate(zip(opened, expected)):
            if a != b:
                print(f"    first difference at byte {i}")
                break
        else:
            print(f"    lengths differ: {len(opened)} vs {len(expected)}")


def main() -> int:
    r = Results()
    vec = tomllib.loads((ROOT / "testdata" / "vectors" / "v1.toml").read_text(encoding="utf-8"))

    group_spec_examples(r)
    r.end_group("spec-examples")
    try:
        identities = group_keys(r, vec)
    except Exception as exc:
        r.check(False, f"keys: {type(exc).__name__}: {exc}")
        identities = []
    r.end_group("keys")
    group_valid(r, vec, identities)
    r.end_group(f"valid ({len(vec.get('valid', []))} vectors)")
    group_invalid(r, vec, identities)
    r.end_group(f"invalid ({len(vec.get('invalid', []))} vectors)")
    group_invalid_recipient(r, vec)
    r.end_group(f"invalid_recipient ({len(vec.get('invalid_recipient', []))} vectors)")
    group_example(r)
    r.end_group("example")

    print(f"{r.passed} passed, {r.failed} failed")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
