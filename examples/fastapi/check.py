#!/usr/bin/env python3
"""End-to-end check of the FastAPI example behind `cachet exec`.

    python3 examples/fastapi/check.py path/to/cachet     (or CACHET_BIN=path/to/cachet)

In a temporary directory, with a home of its own (no identity of yours is used): make
a key, seal a copy of config.toml, attest it with the key, then start the app as
the image does (CACHET_REQUIRE_ATTESTED=1) with

    cachet exec -f config.sealed.toml --separator __ -- python3 -m uvicorn app:app …

once with the key in a file (CACHET_IDENTITY_FILE) and once as text
(CACHET_IDENTITY), and exercise it over HTTP: the OAuth2 password flow, the
protected route, and tokens the app must refuse. It also reads the server's
/proc/<pid>/environ (cachet execs, so the pid it started is the server itself) to
check the opened values arrived and CACHET_IDENTITY did not, and stops the server
with SIGTERM. A copy whose plain database URL was changed after attestation must
not run. Needs Linux and the packages of requirements.txt. Secret values are
never printed. The last line is "N passed, M failed"; the exit status is non-zero
on any failure.
"""

import base64
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECRET_PATHS = ["database.password", "jwt.signing_key", "demo_user.password"]
# Variables the app reads; the check's own environment must not preset them.
APP_PREFIXES = ("DATABASE__", "JWT__", "DEMO_USER__")
EXEC_FAILED = 125


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
            print(f"ok   {what}")
        else:
            self.failed += 1
            print(f"FAIL {what}")
        return ok


def lookup(table, path):
    for part in path.split("."):
        table = table[part]
    return table


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_jwt(claims, key, alg="HS256"):
    """An HS256 JWT built with the standard library only, independent of the app's PyJWT."""
    header = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}"
    if alg == "none":
        return signing_input + "."
    mac = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def verify_jwt(token, key):
    """The claims of an HS256 token whose signature `key` verifies, else None."""
    try:
        header, payload, signature = token.split(".")
        if json.loads(b64url_decode(header)).get("alg") != "HS256":
            return None
        expected = hmac.new(key.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, b64url_decode(signature)):
            return None
        return json.loads(b64url_decode(payload))
    except (ValueError, json.JSONDecodeError):
        return None


def http(method, url, form=None, token=None):
    """(status, JSON body or None) of one request."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    try:
        return status, json.loads(body)
    except json.JSONDecodeError:
        return status, None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def proc_environ(pid):
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {name.decode(errors="replace"): value.decode(errors="replace") for name, value in pairs}


def tail(path, lines=20):
    text = path.read_text(errors="replace").splitlines()
    return "\n".join("    | " + line for line in text[-lines:])


class Server:
    """`cachet exec … -- python3 -m uvicorn app:app` on a free loopback port."""

    def __init__(self, cachet, sealed, env, log):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        under_cachet = [cachet, "exec", "-f", str(sealed), "--separator", "__", "--"]
        app = [sys.executable, "-m", "uvicorn", "app:app", "--app-dir", str(HERE)]
        listen = ["--host", "127.0.0.1", "--port", str(self.port), "--no-access-log"]
        command = under_cachet + app + listen
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                command,
                env=env,
                cwd=sealed.parent,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if http("GET", self.base + "/healthz")[0] == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def stop(self, timeout=10.0):
        """SIGTERM, as a container runtime sends it; the exit status, or None if it hung."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


def check_server(r, name, server, plain, ttl):
    """Everything checked against one running server; `ttl` is the lifetime it must use."""
    user, jwt_settings = plain["demo_user"], plain["jwt"]
    key, issuer, audience = (
        jwt_settings["signing_key"],
        jwt_settings["issuer"],
        jwt_settings["audience"],
    )

    ready = server.wait_ready()
    if not r.check(ready, f"{name}: the app answers GET /healthz"):
        print(f"    exit status {server.proc.poll()}; server output:\n{tail(server.log)}")
        return
    r.check(
        http("GET", server.base + "/healthz") == (200, {"status": "ok"}),
        f"{name}: /healthz says ok",
    )

    # cachet replaced itself with the server: same pid, and its environment is the app's.
    pid = server.proc.pid
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    r.check(
        b"uvicorn" in cmdline,
        f"{name}: the pid cachet was started as is now uvicorn (exec, no wrapper)",
    )
    env = proc_environ(pid)
    r.check(
        "CACHET_IDENTITY" not in env, f"{name}: CACHET_IDENTITY is not in the app's environment"
    )
    for path in SECRET_PATHS + ["database.url", "jwt.issuer"]:
        var = path.upper().replace(".", "__")
        r.check(
            env.get(var) == str(lookup(plain, path)),
            f"{name}: {var} in the app's environment is the opened value",
        )
    r.check(
        env.get("JWT__TOKEN_TTL_SECONDS") == str(ttl), f"{name}: JWT__TOKEN_TTL_SECONDS is {ttl}"
    )

    def token_for(username, password):
        return http(
            "POST", server.base + "/token", form={"username": username, "password": password}
        )

    status, body = token_for(user["username"], user["password"])
    if not r.check(
        status == 200 and isinstance(body, dict) and "access_token" in body,
        f"{name}: POST /token with the right password gives a token (200)",
    ):
        return
    token = body["access_token"]
    r.check(
        body.get("token_type") == "bearer" and body.get("expires_in") == ttl,
        f"{name}: it is a bearer token that expires in {ttl} s",
    )
    claims = verify_jwt(token, key)
    r.check(claims is not None, f"{name}: the token is HS256-signed with the opened signing key")
    claims = claims or {}
    r.check(
        (claims.get("sub"), claims.get("iss"), claims.get("aud"))
        == (user["username"], issuer, audience),
        f"{name}: the token's sub, iss and aud are the configured ones",
    )
    r.check(claims.get("exp", 0) - claims.get("iat", 0) == ttl, f"{name}: the token lives {ttl} s")

    status, _ = token_for(user["username"], user["password"] + "x")
    r.check(status == 401, f"{name}: POST /token with a wrong password is refused (401)")
    status, _ = token_for("someone-else", user["password"])
    r.check(status == 401, f"{name}: POST /token for an unknown user is refused (401)")

    status, body = http("GET", server.base + "/me", token=token)
    r.check(
        status == 200 and body == {"username": user["username"]},
        f"{name}: GET /me with the token names its subject (200)",
    )
    status, _ = http("GET", server.base + "/me")
    r.check(status == 401, f"{name}: GET /me without a token is refused (401)")

    now = int(time.time())
    good = {"sub": user["username"], "iss": issuer, "aud": audience, "iat": now, "exp": now + 60}
    # A token made here with the right key is accepted, so each refusal below is
    # for the one thing changed.
    status, _ = http("GET", server.base + "/me", token=make_jwt(good, key))
    r.check(
        status == 200,
        f"{name}: a token made independently with the right key and claims is accepted",
    )
    refused = {
        "signed with another key": make_jwt(good, "another-key-" + "0" * 40),
        "expired": make_jwt({**good, "iat": now - 600, "exp": now - 300}, key),
        "with another issuer": make_jwt({**good, "iss": "https://someone-else.example.test"}, key),
        "with another audience": make_jwt({**good, "aud": "another-service"}, key),
        "without exp": make_jwt({k: v for k, v in good.items() if k != "exp"}, key),
        "without sub": make_jwt({k: v for k, v in good.items() if k != "sub"}, key),
        "for another subject": make_jwt({**good, "sub": "someone-else"}, key),
        "with alg none": make_jwt(good, key, alg="none"),
        "altered after signing": token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"),
    }
    for what, forged in refused.items():
        status, _ = http("GET", server.base + "/me", token=forged)
        r.check(status == 401, f"{name}: a token {what} is refused (401)")


def main():
    cachet = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CACHET_BIN")
    if not cachet:
        sys.exit("usage: check.py path/to/cachet   (or set CACHET_BIN)")
    cachet = str(Path(cachet).resolve())
    if not os.access(cachet, os.X_OK):
        sys.exit(f"check.py: no cachet executable at {cachet}")
    if not Path("/proc/self/environ").exists():
        sys.exit("check.py needs Linux (/proc)")
    plain = tomllib.loads((HERE / "config.toml").read_text())
    secrets = [str(lookup(plain, p)) for p in SECRET_PATHS]
    r = Results()
    started = time.monotonic()

    with tempfile.TemporaryDirectory(prefix="cachet-fastapi-") as tmp:
        tmp = Path(tmp)
        # A clean environment: no identity, recipient or app setting of the caller's.
        base = {
            k: v for k, v in os.environ.items() if not k.startswith(("CACHET_",) + APP_PREFIXES)
        }
        base.update(
            HOME=str(tmp / "home"),
            XDG_CONFIG_HOME=str(tmp / "home/.config"),
            PYTHONDONTWRITEBYTECODE="1",
        )
        (tmp / "home").mkdir()

        def run(*args, env=base, **kw):
            return subprocess.run(
                [cachet, *args], env=env, cwd=tmp, capture_output=True, text=True, timeout=30, **kw
            )

        # 1. A key for the environment.
        key_file = tmp / "production.key"
        out = run("keygen", "-o", str(key_file))
        recipient = out.stdout.strip()
        r.check(
            out.returncode == 0 and recipient.startswith("age1"), "keygen prints the public key"
        )
        r.check(
            key_file.exists() and key_file.stat().st_mode & 0o777 == 0o600,
            "keygen writes the key 0600",
        )
        if r.failed:
            print(out.stderr)
            return r

        # 2. Seal a copy of the plaintext template.
        sealed = tmp / "config.sealed.toml"
        shutil.copyfile(HERE / "config.toml", sealed)
        out = run("seal", "-r", recipient, str(sealed))
        r.check(out.returncode == 0, "seal exits 0")
        r.check(
            f"sealed {len(SECRET_PATHS)} values" in out.stdout + out.stderr,
            f"seal reports {len(SECRET_PATHS)} values sealed",
        )
        text = sealed.read_text()
        r.check(
            not any(s in text for s in secrets),
            "the sealed file holds none of the plaintext secrets",
        )
        doc = tomllib.loads(text)
        for path in SECRET_PATHS:
            value = lookup(doc, path)
            r.check(isinstance(value, str) and value.startswith("cachet:v1:"), f"{path} is sealed")
        for path in [
            "database.url",
            "jwt.issuer",
            "jwt.audience",
            "jwt.token_ttl_seconds",
            "demo_user.username",
        ]:
            r.check(lookup(doc, path) == lookup(plain, path), f"{path} stays readable")

        # 2b. A holder of the key approves the sealed file (spec/attest.md); the
        # image requires it (CACHET_REQUIRE_ATTESTED=1).
        out = run("attest", "--yes", "-i", str(key_file), str(sealed))
        r.check(out.returncode == 0, "attest exits 0")
        last = sealed.read_text().splitlines()[-1]
        r.check(last.startswith("# cachet:attest:v1:"), "the attestation is the file's last line")
        r.check(
            tomllib.loads(sealed.read_text()) == doc,
            "the attestation line changes nothing the app reads",
        )

        # 3. Failures before the command starts exit 125 and never run it.
        marker = tmp / "ran"
        probe = ["--", sys.executable, "-c", f"open({str(marker)!r}, 'w')"]
        # A writer without the key points the database elsewhere: refused.
        (tmp / "pushed").mkdir()
        tampered = tmp / "pushed" / "config.sealed.toml"
        tampered.write_text(
            sealed.read_text().replace(plain["database"]["url"], "postgresql://attacker.example/app")
        )
        required = {**base, "CACHET_IDENTITY_FILE": str(key_file), "CACHET_REQUIRE_ATTESTED": "1"}
        out = run("exec", "-f", str(tampered), *probe, env=required)
        r.check(
            out.returncode == EXEC_FAILED
            and not marker.exists()
            and "its attestation does not match its content" in out.stderr,
            "a changed plain value in an attested file exits 125 and runs nothing",
        )
        out = run("exec", "-f", str(sealed), *probe)
        r.check(
            out.returncode == EXEC_FAILED and not marker.exists(),
            "exec without any identity exits 125 and runs nothing",
        )
        other_key = tmp / "other.key"
        run("keygen", "-o", str(other_key))
        out = run(
            "exec", "-f", str(sealed), *probe, env={**base, "CACHET_IDENTITY_FILE": str(other_key)}
        )
        r.check(
            out.returncode == EXEC_FAILED and not marker.exists(),
            "exec with another environment's key exits 125 and runs nothing",
        )

        # 4. The app, with the key in a mounted file (as in a container).
        ttl = plain["jwt"]["token_ttl_seconds"]
        runs = [
            ("CACHET_IDENTITY_FILE", {"CACHET_IDENTITY_FILE": str(key_file)}, ttl),
            # The key as text, and a setting already in the environment, which wins
            # over the file's.
            (
                "CACHET_IDENTITY",
                {"CACHET_IDENTITY": key_file.read_text(), "JWT__TOKEN_TTL_SECONDS": "60"},
                60,
            ),
        ]
        for name, extra, expected_ttl in runs:
            # As in the image: only an attested config runs.
            env = {**base, **extra, "CACHET_REQUIRE_ATTESTED": "1"}
            server = Server(cachet, sealed, env, tmp / f"server-{name}.log")
            try:
                check_server(r, name, server, plain, expected_ttl)
            finally:
                status = server.stop()
            # uvicorn shuts down gracefully, then re-raises the signal it caught.
            log = server.log.read_text(errors="replace")
            r.check(
                status == -signal.SIGTERM
                and "Application shutdown complete" in log
                and f"Finished server process [{server.proc.pid}]" in log,
                f"{name}: SIGTERM reaches the app, which shuts down gracefully",
            )
            r.check(not port_open(server.port), f"{name}: the port is closed afterwards")

    print(f"# took {time.monotonic() - started:.1f} s")
    return r


if __name__ == "__main__":
    results = main()
    print(f"{results.passed} passed, {results.failed} failed")
    sys.exit(1 if results.failed else 0)
