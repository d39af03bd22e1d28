#!/usr/bin/env python3
"""Check the cachet protected-identity known-answer vectors
(testdata/vectors/protected_identity.toml) with an independent implementation
written from spec/identity.md only, in Python with the `cryptography` package
(Argon2id; ChaCha20-Poly1305, with HChaCha20 from cachet_ref.py for
XChaCha20-Poly1305).

Usage (from anywhere):  python3 tests/interop/check_protected_identity.py

Groups:
  spec-examples  the grammar and bounds rules, and the worked example quoted in
                 spec/identity.md section 12 (recomputed from its inputs)
  valid          each [[valid]] vector: key, header, open, re-protect the file
  accepted       each [[accepted]] file opens to its identity
  invalid        each [[invalid]] file fails with exactly its error class

Every check counts once; the last line is "N passed, M failed". The exit
status is 0 only if nothing failed.
"""

from __future__ import annotations

import re
import sys
import time
import tomllib
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import cachet_ref as c  # noqa: E402
from check_vectors import Results  # noqa: E402


# ---------------------------------------------------------------------------
# spec/identity.md, section by section
# ---------------------------------------------------------------------------

PREFIX = "cachet-identity:"
COMMENT_LINE = "# cachet protected identity: cachet asks for its passphrase when it is used"

# 4.2 bounds: (name, minimum, maximum), in the order they are checked.
BOUNDS = (("m", 65536, 2097152), ("t", 3, 16), ("p", 1, 16))

MIN_PAYLOAD = 24 + 1 + 16  # 3.3
MAX_PAYLOAD = 24 + 65536 + 16
MAX_PAYLOAD_CHARS = 87435

# Unicode White_Space (section 2 ignores it around each line). Python's
# str.strip() with no argument would also strip U+001C..U+001F, which are not
# White_Space, so the set is spelled out.
WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

ERROR_CLASSES = (
    "not-protected",
    "malformed",
    "unsupported-version",
    "out-of-bounds",
    "empty-passphrase",
    "authentication",
    "not-utf8",
)


class ProtectedError(Exception):
    """An error of section 8.1; `cls` is one of ERROR_CLASSES."""

    def __init__(self, cls: str, detail: str):
        assert cls in ERROR_CLASSES, cls
        super().__init__(f"{cls}: {detail}")
        self.cls = cls
        self.detail = detail


_NUMBER_RE = re.compile(r"0|[1-9][0-9]{0,9}", re.ASCII)
_PARAMS_RE = re.compile(r"m=([0-9]+),t=([0-9]+),p=([0-9]+)", re.ASCII)
_OTHER_VERSION_RE = re.compile(r"v[0-9]{1,5}", re.ASCII)


def data_lines(text: str) -> list[tuple[int, str]]:
    """Section 2: (1-based line number, trimmed line) of every data line."""
    out = []
    for n, line in enumerate(text.split("\n"), start=1):
        line = line.strip(WHITE_SPACE)  # also removes the CR of a CR LF ending
        if line and not line.startswith("#"):
            out.append((n, line))
    return out


def is_protected(text: str) -> bool:
    lines = data_lines(text)
    return bool(lines) and lines[0][1].startswith(PREFIX)


def parse_number(s: str) -> int:
    """3.1 `number`: canonical decimal below 2^32."""
    if not _NUMBER_RE.fullmatch(s) or int(s) >= 2**32:
        raise ValueError("not a canonical number")
    return int(s)


def parse_params(s: str) -> tuple[int, int, int]:
    m = _PARAMS_RE.fullmatch(s)
    if not m:
        raise ValueError("params do not match m=..,t=..,p=..")
    return tuple(parse_number(g) for g in m.groups())  # type: ignore[return-value]


def check_bounds(params: tuple[int, int, int]) -> None:
    """4.2, m then t then p."""
    for (name, lo, hi), v in zip(BOUNDS, params):
        if not lo <= v <= hi:
            raise ProtectedError("out-of-bounds", f"{name}={v} outside {lo}..{hi}")


def parse(text: str):
    """Section 7, steps 1 to 8. Returns (header, params, salt, nonce, ct)."""
    lines = data_lines(text)
    if not lines or not lines[0][1].startswith(PREFIX):
        raise ProtectedError("not-protected", "no cachet-identity: data line")
    if len(lines) > 1:
        raise ProtectedError("malformed", f"second data line at line {lines[1][0]}")
    line = lines[0][1]
    fields = line[len(PREFIX):].split(":")
    version = fields[0]
    if version != "v1":
        if _OTHER_VERSION_RE.fullmatch(version):
            raise ProtectedError("unsupported-version", version)
        raise ProtectedError("malformed", "version field")
    if len(fields) != 5:
        raise ProtectedError("malformed", "field count")
    _, kdf, params_text, salt_text, payload_text = fields
    if kdf != "argon2id":
        raise ProtectedError("malformed", "kdf")
    try:
        params = parse_params(params_text)
    except ValueError as exc:
        raise ProtectedError("malformed", str(exc)) from None
    try:
        if len(salt_text) != 22:
            raise ValueError("salt length")
        salt = c.b64url_decode(salt_text)
        if len(salt) != 16:
            raise ValueError("salt length")
    except ValueError as exc:
        raise ProtectedError("malformed", f"salt: {exc}") from None
    if len(payload_text) > MAX_PAYLOAD_CHARS:
        raise ProtectedError("malformed", "payload too long")
    try:
        payload = c.b64url_decode(payload_text)
    except ValueError as exc:
        raise ProtectedError("malformed", f"payload: {exc}") from None
    if not MIN_PAYLOAD <= len(payload) <= MAX_PAYLOAD:
        raise ProtectedError("malformed", "payload length")
    header = line[: len(line) - len(payload_text) - 1]
    return header, params, salt, payload[:24], payload[24:]


def derive_key(passphrase: str, salt: bytes, params: tuple[int, int, int]) -> bytes:
    """4.1: Argon2id v0x13, 32 bytes, no secret, no associated data."""
    m, t, p = params
    return Argon2id(
        salt=salt, length=32, iterations=t, lanes=p, memory_cost=m
    ).derive(passphrase.encode("utf-8"))


def unprotect(text: str, passphrase: str) -> str:
    """Section 7."""
    header, params, salt, nonce, ct = parse(text)  # steps 1-8
    check_bounds(params)  # step 9, before any Argon2id work
    if passphrase == "":
        raise ProtectedError("empty-passphrase", "")  # step 10
    key = derive_key(passphrase, salt, params)  # step 11
    try:
        plain = c.xchacha20poly1305_decrypt(key, nonce, ct, header.encode("ascii"))
    except InvalidTag:
        raise ProtectedError("authentication", "tag") from None  # step 12
    try:
        return plain.decode("utf-8")  # step 13
    except UnicodeDecodeError:
        raise ProtectedError("not-utf8", "") from None


def header_of(params: tuple[int, int, int], salt: bytes) -> str:
    m, t, p = params
    return f"{PREFIX}v1:argon2id:m={m},t={t},p={p}:{c.b64url_encode(salt)}"


def protect_with(identity: str, passphrase: str, params, salt: bytes, nonce: bytes):
    """Section 6 with fixed S and N. Returns (key, header, file text)."""
    assert passphrase and len(salt) == 16 and len(nonce) == 24
    check_bounds(params)
    assert not is_protected(identity) and len(identity.encode()) <= 65536
    identities = c.parse_identity_file(identity)
    key = derive_key(passphrase, salt, params)
    header = header_of(params, salt)
    ct = c.xchacha20poly1305_encrypt(key, nonce, identity.encode("utf-8"), header.encode("ascii"))
    out = COMMENT_LINE + "\n"
    for ident in identities:
        out += "# public key: " + c.encode_recipient(c.recipient_of(ident)) + "\n"
    out += header + ":" + c.b64url_encode(nonce + ct) + "\n"
    return key, header, out


# ---------------------------------------------------------------------------
# Groups
# ---------------------------------------------------------------------------

def expect_error(fn, cls: str) -> bool:
    try:
        fn()
    except ProtectedError as exc:
        if exc.cls != cls:
            print(f"    got {exc.cls} ({exc.detail}), expected {cls}")
        return exc.cls == cls
    print(f"    no error, expected {cls}")
    return False


def rejects(fn) -> bool:
    try:
        fn()
    except ValueError:
        return True
    return False


def spec_example() -> dict:
    """The worked example of spec/identity.md section 12, read from the spec."""
    spec = (ROOT / "spec" / "identity.md").read_text(encoding="utf-8")
    block = spec[spec.index("Worked example, the first valid vector:"):]
    ex = {}
    for key in ("passphrase", "S", "N", "K", "A"):
        m = re.search(rf"^    {re.escape(key)} +(.+)$", block, re.MULTILINE)
        ex[key] = m.group(1).strip()
    m = re.search(r"^    m, t, p +([0-9]+), ([0-9]+), ([0-9]+)$", block, re.MULTILINE)
    ex["params"] = tuple(int(g) for g in m.groups())
    # I: the three lines after "I", each ending with " ⏎".
    i_lines = re.search(r"^    I +(.+?)\n +\(", block, re.MULTILINE | re.DOTALL).group(1)
    ex["I"] = "".join(l.strip().removesuffix("⏎").rstrip() + "\n" for l in i_lines.split("\n"))
    # The wrapped data line: from "cachet-identity:" up to the next blank line.
    m = re.search(r"is one line of ([0-9]+) characters in the file:\n\n(.+?)\n\n", block, re.DOTALL)
    ex["line_len"] = int(m.group(1))
    ex["line"] = "".join(m.group(2).split())
    return ex


def group_spec_examples(r: Results) -> None:
    r.run("3.1 number 0", lambda: parse_number("0") == 0)
    r.run("3.1 number 4294967295", lambda: parse_number("4294967295") == 2**32 - 1)
    for bad in ("065536", "+3", "1e5", "4294967296", "", " 3", "00"):
        r.run(f"3.1 {bad!r} is not a number", lambda bad=bad: rejects(lambda: parse_number(bad)))
    r.run("3.1 params in order", lambda: parse_params("m=65536,t=3,p=1") == (65536, 3, 1))
    r.run("3.1 params in another order are refused",
          lambda: rejects(lambda: parse_params("t=3,m=65536,p=1")))
    for params, ok in (((65536, 3, 1), True), ((2097152, 16, 16), True),
                       ((65535, 3, 1), False), ((2097153, 3, 1), False),
                       ((65536, 2, 1), False), ((65536, 17, 1), False),
                       ((65536, 3, 0), False), ((65536, 3, 17), False)):
        def bounded(params=params, ok=ok):
            try:
                check_bounds(params)
            except ProtectedError:
                return not ok
            return ok
        r.run(f"4.2 {params} {'accepted' if ok else 'refused'}", bounded)

    ex = spec_example()
    r.run("12 worked example: A from S and the parameters",
          lambda: header_of(ex["params"], bytes.fromhex(ex["S"])) == ex["A"])
    r.run("12 worked example: K = Argon2id(passphrase, S, m, t, p)",
          lambda: derive_key(ex["passphrase"], bytes.fromhex(ex["S"]), ex["params"]).hex() == ex["K"])
    r.run("12 worked example: I is 184 bytes", lambda: len(ex["I"].encode()) == 184)

    def example_line():
        key, _, text = protect_with(ex["I"], ex["passphrase"], ex["params"],
                                    bytes.fromhex(ex["S"]), bytes.fromhex(ex["N"]))
        line = text.splitlines()[-1]
        return key.hex() == ex["K"] and line == ex["line"] and len(line) == ex["line_len"]
    r.run("12 worked example: data line", example_line)
    r.run("12 worked example: opens to I",
          lambda: unprotect(ex["line"], ex["passphrase"]) == ex["I"])


def group_valid(r: Results, vec: dict) -> None:
    for v in vec.get("valid", []):
        name = v["name"]
        params = (v["memory_kib"], v["passes"], v["lanes"])
        salt, nonce = bytes.fromhex(v["salt"]), bytes.fromhex(v["nonce"])

        def opened(v=v):
            return unprotect(v["file"], v["passphrase"]) == v["identity"]

        def reprotected(v=v, params=params, salt=salt, nonce=nonce):
            key, header, text = protect_with(v["identity"], v["passphrase"], params, salt, nonce)
            ok = True
            if key.hex() != v["key"]:
                print(f"    key {key.hex()} != {v['key']}")
                ok = False
            if header != v["header"]:
                print(f"    header {header} != {v['header']}")
                ok = False
            if text != v["file"]:
                print("    file differs")
                ok = False
            return ok

        r.run(f"{name}: is a protected identity file", lambda v=v: is_protected(v["file"]))
        r.run(f"{name}: opens to its identity", opened)
        r.run(f"{name}: key, header and file reproduced", reprotected)


def group_accepted(r: Results, vec: dict) -> None:
    for v in vec.get("accepted", []):
        r.run(v["name"], lambda v=v: unprotect(v["file"], v["passphrase"]) == v["identity"])


def group_invalid(r: Results, vec: dict) -> None:
    for v in vec.get("invalid", []):
        name, cls = v["name"], v["error"]

        def failed(v=v, cls=cls):
            start = time.monotonic()
            ok = expect_error(lambda: unprotect(v["file"], v["passphrase"]), cls)
            if cls == "out-of-bounds" and time.monotonic() - start > 0.5:
                print("    bounds checked too late")
                ok = False
            return ok

        r.run(f"{name} -> {cls}", failed)


def main() -> int:
    r = Results()
    path = ROOT / "testdata" / "vectors" / "protected_identity.toml"
    vec = tomllib.loads(path.read_text(encoding="utf-8"))

    group_spec_examples(r)
    r.end_group("spec-examples")
    group_valid(r, vec)
    r.end_group(f"valid ({len(vec.get('valid', []))} vectors)")
    group_accepted(r, vec)
    r.end_group(f"accepted ({len(vec.get('accepted', []))} files)")
    group_invalid(r, vec)
    r.end_group(f"invalid ({len(vec.get('invalid', []))} vectors)")

    print(f"{r.passed} passed, {r.failed} failed")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
