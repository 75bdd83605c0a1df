"""Who may change the stories: a locked embedded Redis, passwords, ACL users and TLS to Redis, API tokens.

Every server here is real: redis-server started with a password, with an ACL user, with TLS and client
certificates made by the test; the API with and without its tokens.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from headline_dedup import procs
from headline_dedup.api.app import create_app
from headline_dedup.cli import app as cli
from headline_dedup.config import build_settings
from headline_dedup.embedded import EmbeddedRedis, free_port, server_binary
from headline_dedup.urls import masked
from tests.helpers import FED, SAMPLE, Output, api_answers, run_split, wait_until

runner = CliRunner()


# --- the embedded Redis is locked ---------------------------------------------------------------------

def test_embedded_redis_needs_its_password(tmp_path):
    with EmbeddedRedis(tmp_path / "r", persist=False) as server:
        plain = redis.Redis(host="127.0.0.1", port=server.port)
        with pytest.raises(redis.AuthenticationError):
            plain.ping()
        assert redis.Redis.from_url(server.url).ping()
        assert stat.S_IMODE((tmp_path / "r").stat().st_mode) == 0o700
        # Not on the command line, where every local user's `ps` would read it.
        cmdline = Path(f"/proc/{server.process.pid}/cmdline").read_bytes()  # type: ignore[union-attr]
        assert server.password.encode() not in cmdline


def test_up_writes_its_url_for_the_owner_only(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL" and not k.startswith("HEADLINES_")}
    env["HEADLINES_DATA_DIR"] = str(tmp_path / "data")
    up = subprocess.Popen([sys.executable, "-m", "headline_dedup.cli", "up", "--port", str(free_port()),
                           "--workers", "1", "--api-workers", "1"], cwd=tmp_path, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url_file = tmp_path / "data" / "redis.url"
    try:
        deadline = time.monotonic() + 60
        while not url_file.is_file() and time.monotonic() < deadline and up.poll() is None:
            time.sleep(0.1)
        assert url_file.is_file(), "up never wrote its URL file"
        assert stat.S_IMODE(url_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(url_file.parent.stat().st_mode) == 0o700
        url = url_file.read_text().strip()
        password = redis.connection.parse_url(url)["password"]
        assert password
        port = redis.connection.parse_url(url)["port"]
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=port).ping()
        # The CLI of that folder finds it through the file, password and all.
        result = subprocess.run([sys.executable, "-m", "headline_dedup.cli", "stats", "--json"], cwd=tmp_path,
                                env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        assert password not in result.stdout + result.stderr
    finally:
        up.send_signal(signal.SIGINT)
        output = up.communicate(timeout=60)[0]
    assert password not in output
    assert "***" in output  # the URL was shown, masked


# --- passwords and ACL users to any Redis ------------------------------------------------------------

def _start(args: list[str], tmp: Path, config: str = "") -> subprocess.Popen[bytes]:
    process = subprocess.Popen([server_binary(), "-", "--save", "", "--appendonly", "no", "--dir", str(tmp),
                                "--bind", "127.0.0.1", *args], stdin=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert process.stdin is not None
    process.stdin.write(config.encode())
    process.stdin.close()
    return process


def _ready(client: redis.Redis, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if client.ping():
                return
        except (redis.ConnectionError, OSError):
            if process.poll() is not None:
                raise
        time.sleep(0.05)
    raise AssertionError("the test Redis did not start")


@pytest.fixture(scope="module")
def acl_redis(tmp_path_factory) -> Iterator[str]:
    """A Redis whose default user is off: only the ACL user `svc` with its password gets in."""
    tmp, port = tmp_path_factory.mktemp("acl"), free_port()
    config = "user default off\nuser svc on >s3cret-Pass ~* &* +@all\n"
    process = _start(["--port", str(port)], tmp, config)
    url = f"redis://svc:s3cret-Pass@127.0.0.1:{port}/0"
    try:
        _ready(redis.Redis.from_url(url), process)
        yield url
    finally:
        process.kill()
        process.wait()


def _ingest_place_and_count(url: str, env_extra: dict[str, str] | None = None) -> dict:
    """The whole road over `url`: ingest by the CLI, a real worker places, stats read back."""
    result = runner.invoke(cli, ["ingest", str(SAMPLE), "--redis-url", url])
    assert result.exit_code == 0, result.output
    env = {**os.environ, "REDIS_URL": url, **(env_extra or {})}
    worker = subprocess.run([sys.executable, "-m", "headline_dedup.workers", "--burst"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert worker.returncode == 0, worker.stdout + worker.stderr
    result = runner.invoke(cli, ["stats", "--json", "--redis-url", url])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.output[result.output.index("{"):]))


def test_an_acl_user_with_a_password_runs_the_whole_road(acl_redis):
    redis.Redis.from_url(acl_redis).flushdb()
    stats = _ingest_place_and_count(acl_redis)
    assert stats["headlines"] == 520 and stats["waiting"] == 0
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(acl_redis.replace("s3cret-Pass", "wrong")).ping()


def test_a_wrong_password_is_a_clean_error_that_does_not_show_it(acl_redis):
    wrong = acl_redis.replace("s3cret-Pass", "Wrong-Guess-123")
    result = runner.invoke(cli, ["stats", "--redis-url", wrong])
    assert result.exit_code != 0
    assert "Wrong-Guess-123" not in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("url", "shown"), [
    ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ("redis://:pw@host:1/0", "redis://:***@host:1/0"),
    ("redis://user:p%40ss@host:1/2?ssl_ca_certs=/ca.pem", "redis://user:***@host:1/2?ssl_ca_certs=/ca.pem"),
    ("rediss://u:p@[::1]:6380", "rediss://u:***@[::1]:6380"),
    ("unix:///tmp/r.sock?password=x&db=1", "unix:///tmp/r.sock?password=***&db=1"),
])
def test_urls_are_shown_with_the_password_masked(url, shown):
    assert masked(url) == shown


# --- TLS, with client certificates ------------------------------------------------------------------

def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write(path: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
    path.with_suffix(".key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                                           serialization.NoEncryption()))
    path.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _cert(name: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, signer: ec.EllipticCurvePrivateKey,
          ca: bool = False) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .issuer_name(issuer).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                                     x509.IPAddress(__import__("ipaddress")
                                                                                    .ip_address("127.0.0.1"))]),
                                        critical=False)
    return builder.sign(signer, hashes.SHA256())


def make_certificates(where: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by that CA."""
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "headline-dedup test CA")])
    ca = _cert("headline-dedup test CA", ca_key, ca_name, ca_key, ca=True)
    _write(where / "ca", ca_key, ca)
    for name in ("server", "client"):
        key = _key()
        _write(where / name, key, _cert(name, key, ca_name, ca_key))
    return {n: where / n for n in ("ca", "server", "client")}


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory) -> Iterator[str]:
    """A Redis that speaks TLS only and wants a client certificate signed by the test CA."""
    tmp, port = tmp_path_factory.mktemp("tls"), free_port()
    certs = make_certificates(tmp)
    process = _start(["--port", "0", "--tls-port", str(port), "--tls-cert-file", str(certs["server"]) + ".crt",
                      "--tls-key-file", str(certs["server"]) + ".key", "--tls-ca-cert-file",
                      str(certs["ca"]) + ".crt", "--tls-auth-clients", "yes"], tmp)
    url = (f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={certs['ca']}.crt"
           f"&ssl_certfile={certs['client']}.crt&ssl_keyfile={certs['client']}.key")
    try:
        _ready(redis.Redis.from_url(url), process)
        yield url
    finally:
        process.kill()
        process.wait()


def test_tls_with_a_client_certificate_runs_the_whole_road(tls_redis):
    redis.Redis.from_url(tls_redis).flushdb()
    stats = _ingest_place_and_count(tls_redis)
    assert stats["headlines"] == 520 and stats["waiting"] == 0


def test_the_queue_over_tls_with_the_state_behind_a_password(r, redis_url, tls_redis):
    redis.Redis.from_url(tls_redis).flushdb()
    stats = run_split(redis_url, tls_redis)
    assert stats["headlines"] == 520 and stats["waiting"] == 0


def test_tls_refuses_a_server_it_cannot_verify_and_a_client_without_a_certificate(tls_redis):
    port = redis.connection.parse_url(tls_redis)["port"]
    with pytest.raises(redis.ConnectionError):  # the server's certificate is signed by a CA it does not trust
        redis.Redis.from_url(f"rediss://127.0.0.1:{port}/0", socket_connect_timeout=5).ping()
    no_client_cert = tls_redis.split("&ssl_certfile")[0]
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(no_client_cert, socket_connect_timeout=5).ping()


# --- API tokens ---------------------------------------------------------------------------------------

TOKENS = {"api_token": "submit-Token-1", "read_token": "read-Token-2", "metrics_token": "metrics-Token-3"}


@pytest.fixture
def guarded(redis_url, r) -> Iterator[TestClient]:
    settings = build_settings({"redis_url": redis_url, **TOKENS})
    with TestClient(create_app(settings, r)) as client:
        yield client


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_submitting_needs_the_api_token(guarded):
    body = {"id": "fed", "title": FED}
    missing = guarded.post("/headlines", json=body)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = guarded.post("/headlines", json=body, headers=_bearer(TOKENS["read_token"]))
    assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    assert guarded.get("/headlines/fed", headers=_bearer(TOKENS["read_token"])).status_code == 404  # not stored
    assert guarded.post("/headlines", json=body, headers=_bearer(TOKENS["api_token"])).status_code == 202


# The story browser's pages (service/api/pages.py) are read routes like the others.
PAGES = ("/", "/stories/1", f"/find?title={FED}")


def test_reading_needs_the_read_token_but_healthz_is_open(guarded):
    assert guarded.get("/healthz").status_code == 200
    assert guarded.get("/login").status_code == 200  # where a browser gets its cookie
    for path in ("/headlines/x", "/headlines/x?wait=1", "/clusters/1", "/clusters?order=size", "/stats",
                 f"/lookup?title={FED}", "/events", "/events?last_event_id=0", *PAGES):
        assert guarded.get(path).status_code == 401, path
        assert guarded.get(path, headers=_bearer(TOKENS["api_token"])).status_code == 401, path
        assert guarded.get(path, headers={"Cookie": f"headlines_token={TOKENS['api_token']}"}).status_code == 401
    assert guarded.get(f"/lookup?title={FED}", headers=_bearer(TOKENS["read_token"])).status_code == 200
    for path in ("/clusters", "/stats", "/", f"/find?title={FED}"):
        assert guarded.get(path, headers=_bearer(TOKENS["read_token"])).status_code == 200, path
        cookie = {"Cookie": f"headlines_token={TOKENS['read_token']}"}
        assert guarded.get(path, headers=cookie).status_code == 200, path
    # The read token in a cookie never submits, even where it would do as a bearer token.
    assert guarded.post("/headlines", json={"title": FED},
                        headers={"Cookie": f"headlines_token={TOKENS['api_token']}"}).status_code == 401


def test_no_tokens_configured_means_open(redis_url, r):
    with TestClient(create_app(build_settings({"redis_url": redis_url}), r)) as client:
        assert client.post("/headlines", json={"id": "a", "title": FED}).status_code == 202
        assert client.get("/headlines/a").status_code == 200


def test_openapi_declares_the_bearer_scheme(guarded):
    schema = guarded.get("/openapi.json", headers=_bearer(TOKENS["read_token"])).json()
    schemes = schema["components"]["securitySchemes"]
    assert any(s == {"type": "http", "scheme": "bearer", **({"description": s["description"]}
                                                            if "description" in s else {})}
               for s in schemes.values())


def test_tokens_stay_out_of_the_settings_repr():
    settings = build_settings(TOKENS)
    for token in TOKENS.values():
        assert token not in repr(settings) and token not in str(settings.model_dump())


@hyp_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.none() | st.text(max_size=40) | st.sampled_from([f"Bearer {t}" for t in TOKENS.values()]),
       cookie=st.none() | st.text(max_size=40) | st.sampled_from(list(TOKENS.values())),
       route=st.sampled_from([("POST", "/headlines"), ("GET", "/headlines/x"), ("GET", "/clusters/1"),
                              ("GET", "/lookup?title=a"), ("GET", "/clusters"), ("GET", "/stats"),
                              ("GET", "/healthz"), ("GET", "/metrics"), ("GET", "/"), ("GET", "/stories/1"),
                              ("GET", "/find?title=a"), ("GET", "/login"), ("POST", "/login"),
                              # a bad id: with the token a 422 (a good one would stream for ever here)
                              ("GET", "/events?last_event_id=nope")]))
def test_fuzz_authorization_headers_never_5xx(guarded, header, cookie, route):
    method, path = route
    headers = {"Authorization": header} if header is not None else {}
    if cookie is not None:
        headers["Cookie"] = f"headlines_token={cookie}"
    guarded.cookies.clear()
    try:
        answer = guarded.request(method, path, headers=headers, json={"title": FED})
    except UnicodeEncodeError:  # httpx refuses the header before it is sent: nothing reached the API
        return
    assert answer.status_code < 500
    needed = {"/healthz": "", "/login": "", "/metrics": TOKENS["metrics_token"]}.get(
        path, TOKENS["api_token"] if method == "POST" else TOKENS["read_token"])
    # A cookie counts on GET routes other than /metrics, and only where no Authorization header came at all
    # (service/api/auth.py: a header that is there, even a malformed one, is what the client meant).
    by_cookie = method == "GET" and path != "/metrics" and header is None and cookie == needed
    if needed and header != f"Bearer {needed}" and not by_cookie:
        assert answer.status_code == 401


# --- CORS and binding ---------------------------------------------------------------------------------

def test_cors_is_off_unless_origins_are_listed(redis_url, r):
    origin = {"Origin": "https://desk.example.com"}
    with TestClient(create_app(build_settings({"redis_url": redis_url}), r)) as client:
        assert "access-control-allow-origin" not in client.get("/healthz", headers=origin).headers
    allowed = build_settings({"redis_url": redis_url, "cors_origins": "https://desk.example.com"})
    with TestClient(create_app(allowed, r)) as client:
        answer = client.get("/healthz", headers=origin)
        assert answer.headers["access-control-allow-origin"] == "https://desk.example.com"
        other = client.get("/healthz", headers={"Origin": "https://evil.example.com"})
        assert "access-control-allow-origin" not in other.headers
        # An EventSource resuming GET /events sends Last-Event-ID, which needs a preflight.
        preflight = client.options("/events", headers={**origin, "Access-Control-Request-Method": "GET",
                                                       "Access-Control-Request-Headers": "last-event-id"})
        assert preflight.status_code == 200
        assert "last-event-id" in preflight.headers["access-control-allow-headers"].lower()


def _listening_on(port: int) -> set[str]:
    """The addresses a TCP socket listens on at `port`, read from /proc (what the kernel says, not the app)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def _run_up(redis_url: str, tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.Popen[str], int, Output]:
    port = free_port()
    environ = {**{k: v for k, v in os.environ.items() if not k.startswith("HEADLINES_")}, "REDIS_URL": redis_url,
               **env}
    up = procs.python("headline_dedup.cli", "up", "--port", str(port), "--workers", "1", "--api-workers", "1",
                      *args, cwd=tmp_path, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                      text=True)
    output = Output(up)
    wait_until(lambda: up.poll() is not None or api_answers(port), 90, "the API")
    assert up.poll() is None, "".join(output.lines)
    output.wait_for("API:", 30)  # its start line: what it says before serving has been read
    return up, port, output


def test_up_binds_loopback_unless_told_and_warns_when_open_without_a_token(redis_url, r, tmp_path):
    up, port, output = _run_up(redis_url, tmp_path)
    try:
        assert _listening_on(port) == {"0100007F"}  # 127.0.0.1 only
    finally:
        procs.stop(up)
    assert not any("warning" in line for line in output.lines), output.lines
    up, port, output = _run_up(redis_url, tmp_path, "--host", "0.0.0.0")
    try:
        assert _listening_on(port) == {"00000000"}
        output.wait_for("warning: the API listens on 0.0.0.0", 10)
    finally:
        procs.stop(up)


def test_up_open_with_a_token_does_not_warn_and_never_prints_a_token(redis_url, r, tmp_path):
    up, port, output = _run_up(redis_url, tmp_path, "--host", "0.0.0.0", HEADLINES_API_TOKEN=TOKENS["api_token"],
                               HEADLINES_READ_TOKEN=TOKENS["read_token"])
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.post(f"{base}/headlines", json={"title": FED}, headers=_bearer("guess")).status_code == 401
        assert httpx.post(f"{base}/headlines", json={"id": "t", "title": FED},
                          headers=_bearer(TOKENS["api_token"])).status_code == 202
        assert httpx.get(f"{base}/headlines/t", headers=_bearer(TOKENS["read_token"])).status_code == 200
    finally:
        procs.stop(up)
    text = "".join(output.lines)
    assert "warning" not in text
    for token in (*TOKENS.values(), "guess"):
        assert token not in text
