"""TLS and credentials of `ratchet run --target`: imaps:// and --starttls
against Dovecot with a certificate from a CA made here (openssl command
line, thrown away with the test's folder), certificate and host name
checks (--tls-ca, --tls-insecure), LOGINDISABLED, and the password given
through RATCHET_PASSWORD or --password-file, which must appear in nothing
ratchet writes.

Dovecot runs on 127.0.0.1, started and stopped by PID
(scripts/servers/servers.py)."""
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from test_wire import need

sys.path.insert(0, str(ROOT / "scripts" / "servers"))
import servers  # noqa: E402

USER = "alice"
PASSWORD = dict(servers.USERS)[USER]
OPS = "300"


def openssl(*args, cwd):
    p = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr


def make_ca(d, name):
    """A self-signed CA: d/name.pem and d/name.key."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", f"/CN=ratchet test {name}", "-keyout", f"{name}.key",
            "-out", f"{name}.pem", cwd=d)
    return d / f"{name}.pem"


def make_cert(d, ca, name, san):
    """A server certificate signed by CA ca (make_ca's name) for the
    subjectAltName san: (d/name.pem, d/name.key)."""
    (d / f"{name}.ext").write_text(f"subjectAltName={san}\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=ratchet test server",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey",
            f"{ca}.key", "-CAcreateserial", "-days", "2", "-out", f"{name}.pem",
            "-extfile", f"{name}.ext", cwd=d)
    return d / f"{name}.pem", d / f"{name}.key"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    return {"dir": d, "ca": make_ca(d, "ca"), "other_ca": make_ca(d, "other"),
            "cert": make_cert(d, "ca", "server", "IP:127.0.0.1,DNS:localhost"),
            "wrong_name": make_cert(d, "ca", "elsewhere", "DNS:elsewhere.test")}


@pytest.fixture(scope="module")
def dovecot(pki):
    need("dovecot")
    # mdbox: Dovecot maildir's known races (test_wire.py) stay out of it
    srv = servers.start_dovecot("mdbox", tls=pki["cert"])
    yield srv
    srv.stop()


def env_with(password=PASSWORD):
    env = {k: v for k, v in os.environ.items() if k != "RATCHET_PASSWORD"}
    if password is not None:
        env["RATCHET_PASSWORD"] = password
    return env


def run_ratchet(ratchet_bin, cwd, url, *args, password=PASSWORD, timeout=600):
    return subprocess.run([ratchet_bin, "run", "--quiet", "--target", url, "--ops", OPS,
                           "--clients", "3", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=env_with(password))


def imaps(srv, user=USER):
    return f"imaps://{user}@127.0.0.1:{srv.imaps_port}"


def plain(srv, user=USER):
    return f"imap://{user}@127.0.0.1:{srv.port}"


def one_error_line(p):
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    return lines[0]


def test_imaps_with_ca(ratchet, dovecot, pki, tmp_path):
    p = ratchet_run_ok(ratchet, tmp_path, imaps(dovecot), "--tls-ca", str(pki["ca"]))
    assert "imaps://alice@127.0.0.1:" in p.stdout


def test_starttls_with_ca(ratchet, dovecot, pki, tmp_path):
    ratchet_run_ok(ratchet, tmp_path, plain(dovecot), "--starttls", "--tls-ca",
                   str(pki["ca"]))


def ratchet_run_ok(ratchet_bin, tmp_path, url, *args):
    p = run_ratchet(ratchet_bin, tmp_path, url, *args)
    assert p.returncode == 0, p.stdout + p.stderr
    assert " 0 runs" not in p.stdout and "no violations" in p.stdout, p.stdout
    return p


@pytest.mark.parametrize("how", ["imaps", "starttls"])
def test_wrong_ca_is_refused(ratchet, dovecot, pki, tmp_path, how):
    url = imaps(dovecot) if how == "imaps" else plain(dovecot)
    extra = ["--starttls"] if how == "starttls" else []
    p = run_ratchet(ratchet, tmp_path, url, *extra, "--tls-ca", str(pki["other_ca"]))
    assert p.returncode == 2, p.stdout + p.stderr
    line = one_error_line(p)
    assert "certificate not trusted" in line and "--tls-ca" in line, line


def test_system_store_does_not_trust_a_private_ca(ratchet, dovecot, tmp_path):
    p = run_ratchet(ratchet, tmp_path, imaps(dovecot))
    assert p.returncode == 2, p.stdout + p.stderr
    assert "certificate not trusted" in one_error_line(p)


def test_host_name_is_checked(ratchet, pki, tmp_path):
    """A certificate from the trusted CA, but for another name."""
    need("dovecot")
    srv = servers.start_dovecot("mdbox", tls=pki["wrong_name"])
    try:
        p = run_ratchet(ratchet, tmp_path, imaps(srv), "--tls-ca", str(pki["ca"]))
    finally:
        srv.stop()
    assert p.returncode == 2, p.stdout + p.stderr
    line = one_error_line(p)
    assert "certificate not trusted" in line and "mismatch" in line, line


def test_insecure_works_with_a_warning(ratchet, dovecot, tmp_path):
    p = run_ratchet(ratchet, tmp_path, imaps(dovecot), "--tls-insecure")
    assert p.returncode == 0, p.stdout + p.stderr
    warnings = [ln for ln in p.stderr.splitlines() if "warning" in ln]
    assert len(warnings) == 1 and "--tls-insecure" in warnings[0], p.stderr


def test_tls_options_need_tls(ratchet, dovecot, pki, tmp_path):
    p = run_ratchet(ratchet, tmp_path, plain(dovecot), "--tls-ca", str(pki["ca"]))
    assert p.returncode == 2 and "--starttls" in one_error_line(p), p.stderr
    p = run_ratchet(ratchet, tmp_path, imaps(dovecot), "--starttls")
    assert p.returncode == 2 and "imap://" in one_error_line(p), p.stderr


def test_no_password_anywhere(ratchet, dovecot, tmp_path):
    p = run_ratchet(ratchet, tmp_path, plain(dovecot), password=None)
    assert p.returncode == 2, p.stdout + p.stderr
    line = one_error_line(p)
    assert "RATCHET_PASSWORD" in line and "--password-file" in line, line


def test_wrong_password_is_not_echoed(ratchet, dovecot, tmp_path):
    secret = "Wr0ng-Secret-7c1e"
    p = run_ratchet(ratchet, tmp_path, plain(dovecot), password=secret)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "login" in one_error_line(p)
    assert secret not in p.stdout + p.stderr


def written_files(d):
    return [f for f in d.rglob("*") if f.is_file()]


@pytest.mark.parametrize("how", ["env", "file"])
def test_password_is_never_written(ratchet, dovecot, pki, tmp_path, how):
    """Everything ratchet writes: stdout, stderr, --report, --junit,
    --history, and any other file (replay files) in its folder."""
    out = tmp_path / "out"
    out.mkdir()
    args = ["--tls-ca", str(pki["ca"]), "--report", str(out / "r.json"), "--junit",
            str(out / "j.xml"), "--history", str(out / "h.jsonl")]
    password = PASSWORD
    if how == "file":
        pw = tmp_path / "pw"
        pw.write_text(PASSWORD + "\n")
        args += ["--password-file", str(pw)]
        password = None
    p = run_ratchet(ratchet, out, imaps(dovecot), *args, password=password)
    assert p.returncode == 0, p.stdout + p.stderr
    files = written_files(out)
    assert {f.name for f in files} >= {"r.json", "j.xml", "h.jsonl"}
    assert (out / "h.jsonl").stat().st_size > 1000
    for text in [p.stdout, p.stderr] + [f.read_bytes().decode("latin-1") for f in files]:
        assert PASSWORD not in text


def test_plain_with_password_file(ratchet, dovecot, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + "\n")
    p = run_ratchet(ratchet, tmp_path, plain(dovecot), "--password-file", str(pw),
                    password="not-this-one")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "no violations" in p.stdout, p.stdout


def test_password_file_problems(ratchet, dovecot, tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    p = run_ratchet(ratchet, tmp_path, plain(dovecot), "--password-file", str(empty))
    assert p.returncode == 2 and "empty" in one_error_line(p), p.stderr
    p = run_ratchet(ratchet, tmp_path, plain(dovecot), "--password-file",
                str(tmp_path / "missing"))
    assert p.returncode == 2 and "missing" in one_error_line(p), p.stderr
    url = f"imap://{USER}:{PASSWORD}@127.0.0.1:{dovecot.port}"
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + "\n")
    p = run_ratchet(ratchet, tmp_path, url, "--password-file", str(pw))
    assert p.returncode == 2, p.stderr
    assert PASSWORD not in p.stdout + p.stderr


def test_logindisabled_needs_starttls(ratchet, pki, tmp_path):
    """disable_plaintext_auth = yes: Dovecot still counts a connection from
    127.0.0.1 to 127.0.0.1 secure and allows LOGIN on it, so servers.py
    also leaves PLAIN out of auth_mechanisms, which makes Dovecot send
    LOGINDISABLED on every connection."""
    need("dovecot")
    srv = servers.start_dovecot("mdbox", tls=pki["cert"], plaintext=False)
    try:
        p = run_ratchet(ratchet, tmp_path, plain(srv))
    finally:
        srv.stop()
    assert p.returncode == 2, p.stdout + p.stderr
    line = one_error_line(p)
    assert "LOGINDISABLED" in line and "add --starttls" in line, line
