"""Independent reference implementation of the cachet v1 sealed-value format.

Written from spec/format.md only (no look at the Rust sources), to check that
the specification is complete and that the known-answer vectors agree with it.

Python 3.11, standard library plus the `cryptography` package (for X25519,
HKDF-SHA256 and ChaCha20-Poly1305). HChaCha20, and so XChaCha20-Poly1305, is
implemented here, following draft-irtf-cfrg-xchacha.

Section numbers in comments refer to spec/format.md.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import re
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey,
    X25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


# ---------------------------------------------------------------------------
# Errors (section 11.1). `cls` is the class name used by the invalid vectors.
# ---------------------------------------------------------------------------

ERROR_CLASSES = (
    "malformed",
    "conflict",
    "unsupported-version",
    "no-identity",
    "weak-key",
    "authentication",
    "bad-padding",
    "refused",
)


class CachetError(Exception):
    """An error opening a value; `cls` is one of ERROR_CLASSES."""

    def __init__(self, cls: str, detail: str):
        assert cls in ERROR_CLASSES, cls
        super().__init__(f"{cls}: {detail}")
        self.cls = cls
        self.detail = detail


class KeyError_(ValueError):
    """An invalid key text (section 2.3) or identity file (2.4)."""


class PathError(ValueError):
    """An invalid written path (section 8.2)."""


# ---------------------------------------------------------------------------
# Notation helpers (section 1.3)
# ---------------------------------------------------------------------------

def u32be(n: int) -> bytes:
    return struct.pack(">I", n)


def u64be(n: int) -> bytes:
    return struct.pack(">Q", n)


def lp(x: bytes) -> bytes:
    return u32be(len(x)) + x


# ---------------------------------------------------------------------------
# base64url, canonical only, no padding (section 1.4)
# ---------------------------------------------------------------------------

_B64_RE = re.compile(r"[A-Za-z0-9_-]*", re.ASCII)


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64url_decode(text: str) -> bytes:
    """Decode canonical unpadded base64url; raise ValueError otherwise."""
    if not _B64_RE.fullmatch(text):
        raise ValueError("character outside the base64url alphabet")
    if len(text) % 4 == 1:
        raise ValueError("impossible length")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    # Canonical: re-encoding must give exactly the input (rejects non-zero
    # unused low bits in the last character).
    if b64url_encode(data) != text:
        raise ValueError("non-canonical encoding")
    return data


# ---------------------------------------------------------------------------
# Bech32, BIP 173 (checksum constant 1), and age keys (section 2)
# ---------------------------------------------------------------------------

BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
BECH32_CONST = 1  # Bech32; Bech32m would be 0x2BC830A3 and is NOT accepted


def _polymod(values) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = ((chk & 0x1FFFFFF) << 5) ^ v
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _BECH32_GEN[i]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def bech32_encode(hrp: str, data5: list[int]) -> str:
    """Encode 5-bit groups; the case of the result follows the case of `hrp`."""
    lower_hrp = hrp.lower()
    values = _hrp_expand(lower_hrp) + list(data5)
    pm = _polymod(values + [0] * 6) ^ BECH32_CONST
    checksum = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    text = lower_hrp + "1" + "".join(BECH32_CHARSET[d] for d in data5 + checksum)
    return text.upper() if hrp.isupper() else text


def bech32_decode(text: str) -> tuple[str, list[int]]:
    """Decode a Bech32 string (BIP 173 rules). Returns (lower-case hrp, 5-bit data)."""
    if len(text) > 90:
        raise KeyError_("longer than 90 characters")
    if any(ord(c) < 33 or ord(c) > 126 for c in text):
        raise KeyError_("character outside US-ASCII 33..126")
    if text.lower() != text and text.upper() != text:
        raise KeyError_("mixed case")
    text = text.lower()
    sep = text.rfind("1")
    if sep < 1 or sep + 7 > len(text):
        raise KeyError_("no separator, empty human-readable part or short checksum")
    hrp, rest = text[:sep], text[sep + 1:]
    try:
        data = [BECH32_CHARSET.index(c) for c in rest]
    except ValueError:
        raise KeyError_("character outside the Bech32 alphabet") from None
    if _polymod(_hrp_expand(hrp) + data) != BECH32_CONST:
        raise KeyError_("bad Bech32 checksum")
    return hrp, data[:-6]


def bytes_to_5bit(data: bytes) -> list[int]:
    acc, bits, out = 0, 0, []
    for b in data:
        acc = (acc << 8) | b
        bits += 8
        while bits >= 5:
            bits -= 5
            out.append((acc >> bits) & 31)
    if bits:
        out.append((acc << (5 - bits)) & 31)  # zero padding bits
    return out


def five_bit_to_32_bytes(data5: list[int]) -> bytes:
    """Exactly 52 groups -> 32 bytes; the 4 padding bits must be zero."""
    if len(data5) != 52:
        raise KeyError_(f"data is {len(data5)} characters, not 52 (32 bytes)")
    acc = 0
    for d in data5:
        acc = (acc << 5) | d
    if acc & 0xF:
        raise KeyError_("non-zero padding bits")
    return (acc >> 4).to_bytes(32, "big")


RECIPIENT_HRP = "age"
IDENTITY_HRP = "AGE-SECRET-KEY-"
P25519 = 2**255 - 19


def _decode_key(text: str, hrp_expected: str) -> bytes:
    text = text.strip()  # 2.3: MAY ignore white space around the key
    hrp, data5 = bech32_decode(text)
    if hrp != hrp_expected.lower():  # case-insensitive comparison of the HRP
        raise KeyError_("wrong human-readable part")
    return five_bit_to_32_bytes(data5)


def decode_recipient(text: str) -> bytes:
    """age1... -> 32 bytes; rejects non-canonical u-coordinates (2.3)."""
    raw = _decode_key(text, RECIPIENT_HRP)
    if int.from_bytes(raw, "little") >= P25519:  # also covers bit 255 set
        raise KeyError_("not a canonical u-coordinate")
    return raw


def decode_identity(text: str) -> bytes:
    """AGE-SECRET-KEY-1... -> the 32-byte unclamped scalar (2.2)."""
    return _decode_key(text, IDENTITY_HRP)


def encode_recipient(pub: bytes) -> str:
    assert len(pub) == 32
    return bech32_encode(RECIPIENT_HRP, bytes_to_5bit(pub))


def encode_identity(secret: bytes) -> str:
    assert len(secret) == 32
    return bech32_encode(IDENTITY_HRP, bytes_to_5bit(secret))


def x25519(scalar: bytes, u: bytes) -> bytes:
    """RFC 7748 X25519. Clamping and top-bit masking are done by the library.

    Returns the 32-byte result; an all-zero result is returned as such (the
    library refuses it with ValueError, which is mapped back to zeros here so
    callers apply the spec's own rule)."""
    priv = X25519PrivateKey.from_private_bytes(scalar)
    try:
        return priv.exchange(X25519PublicKey.from_public_bytes(u))
    except ValueError:
        return bytes(32)


def x25519_base(scalar: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return X25519PrivateKey.from_private_bytes(scalar).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def recipient_of(identity: bytes) -> bytes:
    return x25519_base(identity)


def parse_identity_file(text: str) -> list[bytes]:
    """Section 2.4. Returns distinct identities in file order."""
    out: list[bytes] = []
    for n, line in enumerate(text.split("\n"), start=1):
        line = line.strip()  # also removes the CR of a CR LF line ending
        if not line or line.startswith("#"):
            continue
        try:
            key = decode_identity(line)
        except KeyError_:
            raise KeyError_(f"line {n}: not an identity") from None
        if key not in out:
            out.append(key)
    if not out:
        raise KeyError_("no identity in file")
    return out


# ---------------------------------------------------------------------------
# Key id (section 3)
# ---------------------------------------------------------------------------

def key_id(recipient: bytes) -> bytes:
    return hashlib.sha256(b"cachet/v1/key-id" + recipient).digest()[:12]


# ---------------------------------------------------------------------------
# XChaCha20-Poly1305 (5.1): HChaCha20 here, ChaCha20-Poly1305 from the library
# ---------------------------------------------------------------------------

def _rotl32(v: int, c: int) -> int:
    return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))


def _quarter_round(s: list[int], a: int, b: int, c: int, d: int) -> None:
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl32(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl32(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl32(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl32(s[b] ^ s[c], 7)


def hchacha20(key: bytes, nonce16: bytes) -> bytes:
    """draft-irtf-cfrg-xchacha section 2.2."""
    assert len(key) == 32 and len(nonce16) == 16
    state = list(struct.unpack("<4I", b"expand 32-byte k"))
    state += list(struct.unpack("<8I", key))
    state += list(struct.unpack("<4I", nonce16))
    for _ in range(10):  # 20 rounds = 10 double rounds
        _quarter_round(state, 0, 4, 8, 12)
        _quarter_round(state, 1, 5, 9, 13)
        _quarter_round(state, 2, 6, 10, 14)
        _quarter_round(state, 3, 7, 11, 15)
        _quarter_round(state, 0, 5, 10, 15)
        _quarter_round(state, 1, 6, 11, 12)
        _quarter_round(state, 2, 7, 8, 13)
        _quarter_round(state, 3, 4, 9, 14)
    return struct.pack("<8I", *(state[0:4] + state[12:16]))


def xchacha20poly1305_encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    assert len(nonce) == 24
    sub = hchacha20(key, nonce[:16])
    return ChaCha20Poly1305(sub).encrypt(bytes(4) + nonce[16:], plaintext, aad)


def xchacha20poly1305_decrypt(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    """Raises cryptography.exceptions.InvalidTag if the tag does not verify."""
    assert len(nonce) == 24
    sub = hchacha20(key, nonce[:16])
    return ChaCha20Poly1305(sub).decrypt(bytes(4) + nonce[16:], ciphertext, aad)


def derive_value_key(shared: bytes, eph_pub: bytes, recipient: bytes) -> bytes:
    """5.2 step 4 / 9.2 step 3."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=eph_pub + recipient,
        info=b"cachet/v1/value",
    ).derive(shared)


# ---------------------------------------------------------------------------
# Value paths, written form (section 8.2)
# ---------------------------------------------------------------------------

# A typed segment is ("k", str) for a key or ("i", int) for an index.
Segment = tuple

_BARE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def parse_path(text: str) -> list[Segment]:
    if text == "":
        raise PathError("empty path")
    segs: list[Segment] = []
    pos = 0
    n = len(text)

    def read_key(p: int) -> tuple[Segment, int]:
        if p < n and text[p] == '"':
            p += 1
            buf = []
            while True:
                if p >= n:
                    raise PathError("unterminated quoted key")
                c = text[p]
                if c == '"':
                    return ("k", "".join(buf)), p + 1
                if c == "\\":
                    if p + 1 < n and text[p + 1] in '"\\':
                        buf.append(text[p + 1])
                        p += 2
                        continue
                    raise PathError("invalid escape in quoted key")
                buf.append(c)
                p += 1
        start = p
        while p < n and text[p] in _BARE_CHARS:
            p += 1
        if p == start:
            raise PathError("empty or invalid key")
        return ("k", text[start:p]), p

    def read_index(p: int) -> tuple[Segment, int]:
        m = re.compile(r"\[(0|[1-9][0-9]*)\]", re.ASCII).match(text, p)
        if not m:
            raise PathError("invalid index")
        return ("i", int(m.group(1))), m.end()

    seg, pos = read_index(pos) if text[0] == "[" else read_key(pos)
    segs.append(seg)
    while pos < n:
        c = text[pos]
        if c == ".":
            seg, pos = read_key(pos + 1)
        elif c == "[":
            seg, pos = read_index(pos)
        else:
            raise PathError("segments with nothing between them")
        segs.append(seg)
    return segs


def format_path(segs: list[Segment]) -> str:
    out = []
    for i, (kind, v) in enumerate(segs):
        if kind == "i":
            out.append(f"[{v}]")
            continue
        if i:
            out.append(".")
        if v and all(c in _BARE_CHARS for c in v):
            out.append(v)
        else:
            out.append('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "".join(out)


# ---------------------------------------------------------------------------
# Associated data (section 6) and padding (section 7)
# ---------------------------------------------------------------------------

def aad(kid: bytes, sealed_at: str, fmt: str, document: int, path: list[Segment]) -> bytes:
    out = [lp(b"cachet"), lp(b"v1"), lp(kid), lp(sealed_at.encode("ascii")),
           lp(fmt.encode("ascii")), u32be(document), u32be(len(path))]
    for kind, v in path:
        if kind == "k":
            out.append(b"k" + lp(v.encode("utf-8")))
        else:
            out.append(b"i" + u64be(v))
    return b"".join(out)


def pad(raw: bytes) -> bytes:
    body = u32be(len(raw)) + raw
    return body + bytes(-len(body) % 32)


def unpad(p: bytes) -> bytes:
    if len(p) % 32 or len(p) < 4:
        raise CachetError("bad-padding", "length")
    n = struct.unpack(">I", p[:4])[0]
    if n > MAX_RAW:
        raise CachetError("bad-padding", "declared length above the 16 MiB limit")
    if 4 + n > len(p):
        raise CachetError("bad-padding", "declared length too long")
    if len(p) != 32 * -(-(4 + n) // 32):
        raise CachetError("bad-padding", "more padding than the minimum")
    if any(p[4 + n:]):
        raise CachetError("bad-padding", "non-zero padding byte")
    return p[4:4 + n]


# ---------------------------------------------------------------------------
# Tokens (section 4)
# ---------------------------------------------------------------------------

PREFIX = "cachet:"
MAX_PAYLOAD_CHARS = 22_369_760  # the payload of a 16 MiB value (4.3)
MAX_RAW = 16 * 1024 * 1024  # 5.4

_VERSION_OTHER_RE = re.compile(r"v[0-9]{1,5}", re.ASCII)
_SEALED_AT_RE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z", re.ASCII)
_B64CHARS_RE = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)


def _token_shaped(v: str, k: str, t: str, p: str) -> bool:
    return (re.fullmatch(r"v[0-9]+", v, re.ASCII) is not None
            and len(k) == 16 and _B64CHARS_RE.fullmatch(k) is not None
            and len(t.encode("utf-8")) == 16
            and _B64CHARS_RE.fullmatch(p) is not None)


def is_token_candidate(s: str) -> bool:
    """Section 4.4."""
    if s.startswith(PREFIX) or "cachet:v" in s:
        return True
    if len(s) > 7:
        parts = s[7:].split(":")
        if len(parts) == 4 and _token_shaped(*parts):
            return True
    parts = s.split(":")
    return len(parts) >= 5 and _token_shaped(*parts[-4:])


def valid_sealed_at(t: str) -> bool:
    m = _SEALED_AT_RE.fullmatch(t)
    if not m:
        return False
    y, mo, d, h, mi, s = (int(g) for g in m.groups())
    if not (1970 <= y <= 9999 and 1 <= mo <= 12):
        return False
    return 1 <= d <= calendar.monthrange(y, mo)[1] and h <= 23 and mi <= 59 and s <= 59


class Token:
    def __init__(self, kid: bytes, sealed_at: str, eph: bytes, nonce: bytes, ct: bytes):
        self.kid, self.sealed_at, self.eph, self.nonce, self.ct = kid, sealed_at, eph, nonce, ct

    def __str__(self) -> str:
        return (f"{PREFIX}v1:{b64url_encode(self.kid)}:{self.sealed_at}:"
                f"{b64url_encode(self.eph + self.nonce + self.ct)}")


def parse_token(text: str) -> Token:
    """Section 4.5; the first failing step decides the error."""
    if not text.startswith(PREFIX):  # step 1
        raise CachetError("malformed", "prefix")
    rest = text[len(PREFIX):]
    version = rest.split(":", 1)[0]  # step 2
    if version == "conflict":
        raise CachetError("conflict", "an unresolved merge conflict marker")
    if version != "v1":
        if _VERSION_OTHER_RE.fullmatch(version):
            raise CachetError("unsupported-version", f"version {version}; upgrade cachet")
        raise CachetError("malformed", "version field")
    fields = rest.split(":")
    if len(fields) != 4:  # step 3
        raise CachetError("malformed", "field count")
    _, kid_text, sealed_at, payload = fields
    try:  # step 4
        if len(kid_text) != 16:
            raise ValueError
        kid = b64url_decode(kid_text)
    except ValueError:
        raise CachetError("malformed", "key id") from None
    if not valid_sealed_at(sealed_at):  # step 5
        raise CachetError("malformed", "sealed-at")
    if len(payload) > MAX_PAYLOAD_CHARS:  # step 6
        raise CachetError("malformed", "payload too long")
    try:
        data = b64url_decode(payload)
    except ValueError:
        raise CachetError("malformed", "payload encoding") from None
    if len(data) < 104 or (len(data) - 72) % 32:
        raise CachetError("malformed", "payload length")
    tok = Token(kid, sealed_at, data[:32], data[32:56], data[56:])
    assert str(tok) == text  # every field has one spelling
    return tok


# ---------------------------------------------------------------------------
# Sealing (section 5) and opening (section 9.2)
# ---------------------------------------------------------------------------

class SealingRun:
    """One sealing run to one recipient (5.2), with `e` given by the caller
    (drawn from a CSPRNG in real use; fixed by the known-answer vectors)."""

    def __init__(self, recipient: bytes, eph_secret: bytes, sealed_at: str):
        if not valid_sealed_at(sealed_at):
            raise ValueError("invalid sealed-at")
        self.recipient = recipient
        self.kid = key_id(recipient)
        self.eph = x25519_base(eph_secret)
        shared = x25519(eph_secret, recipient)
        if shared == bytes(32):
            raise ValueError("weak recipient: low-order point")
        self.key = derive_value_key(shared, self.eph, recipient)
        self.sealed_at = sealed_at

    def seal(self, raw: bytes, nonce: bytes, fmt: str, document: int, path: list[Segment]) -> str:
        """5.3, with the nonce given by the caller."""
        if len(raw) > MAX_RAW:
            raise ValueError("value too large")
        assert len(nonce) == 24
        a = aad(self.kid, self.sealed_at, fmt, document, path)
        ct = xchacha20poly1305_encrypt(self.key, nonce, pad(raw), a)
        return str(Token(self.kid, self.sealed_at, self.eph, nonce, ct))


class Opener:
    def __init__(self, identities: list[bytes]):
        self.by_kid: dict[bytes, tuple[bytes, bytes]] = {}
        for s in identities:
            r = recipient_of(s)
            self.by_kid[key_id(r)] = (s, r)

    def open(self, token_text: str, fmt: str, document: int, path: list[Segment]) -> bytes:
        """9.2 steps 1-6. Returns raw bytes (valid UTF-8). Step 7 (the
        per-value check) is format-specific; see toml_per_value_check."""
        tok = parse_token(token_text)
        entry = self.by_kid.get(tok.kid)
        if entry is None:
            raise CachetError("no-identity", f"no identity for key id {b64url_encode(tok.kid)}")
        s, r = entry
        shared = x25519(s, tok.eph)
        if shared == bytes(32):
            raise CachetError("weak-key", "invalid ephemeral key")
        k = derive_value_key(shared, tok.eph, r)
        a = aad(tok.kid, tok.sealed_at, fmt, document, path)
        try:
            p = xchacha20poly1305_decrypt(k, tok.nonce, tok.ct, a)
        except InvalidTag:
            raise CachetError("authentication", "tag does not verify") from None
        raw = unpad(p)
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CachetError("refused", "not UTF-8") from None
        return raw


def yaml_per_value_check(raw: bytes) -> None:
    """Partial 9.2 step 7 for YAML, using PyYAML, a YAML 1.1 loader (libyaml
    when present); cachet's own check uses a YAML 1.2 parser, so the two agree
    only where the text means the same to both (8.6).

    Checks that `x: raw LF` loads as one document holding exactly one key `x`
    with a scalar. PyYAML reports no spans, so trailing white space or a
    comment would pass this partial check."""
    import yaml

    text = raw.decode("utf-8")
    # 8.6, "One reading for every loader": YAML 1.1 line breaks (a quoted one
    # changes only the value, which a YAML 1.1 loader alone cannot see) and
    # characters outside YAML's printable set.
    for ch in text:
        o = ord(ch)
        if not (ch in "\t\n\r" or 0x20 <= o <= 0x7E or 0xA0 <= o <= 0xD7FF
                or 0xE000 <= o <= 0xFFFD or o >= 0x10000) \
                or o in (0x2028, 0x2029, 0xFEFF):
            raise CachetError("refused", "a character YAML loaders read differently")
    try:
        docs = list(yaml.safe_load_all("x: " + text + "\n"))
    except yaml.YAMLError:
        raise CachetError("refused", "not one value") from None
    if (len(docs) != 1 or not isinstance(docs[0], dict) or list(docs[0]) != ["x"]
            or isinstance(docs[0]["x"], (dict, list))):
        raise CachetError("refused", "not one value")


def toml_per_value_check(raw: bytes) -> None:
    """Partial 9.2 step 7 for TOML, using tomllib (which reports no spans).

    Checks that `x = raw LF` parses to exactly one key `x` holding a scalar.
    The "span is exactly raw" part cannot be checked with tomllib and is not
    checked here (so e.g. trailing white space or a trailing comment would be
    accepted by this partial check)."""
    import tomllib

    try:
        doc = tomllib.loads("x = " + raw.decode("utf-8") + "\n")
    except tomllib.TOMLDecodeError:
        raise CachetError("refused", "not one value") from None
    if list(doc) != ["x"] or isinstance(doc["x"], (dict, list)):
        raise CachetError("refused", "not one value")


# 9.2 step 7 by format, where this implementation has one.
PER_VALUE_CHECKS = {"toml": toml_per_value_check, "yaml": yaml_per_value_check}
