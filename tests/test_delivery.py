"""Real delivery paths (`ratchet run --target ... --deliver SPEC`): the
delivery stream reaches the server through LMTP, the server's own LDA or a
raw Maildir drop, racing four IMAP clients, and every delivery is judged:
an acknowledged one is there exactly once (ADD-NO-LOSS, DELIVER-ONCE),
above every UID seen before it began (UID-ORDER-GLOBAL), a refused one
never.

Dovecot (maildir and mdbox) via dovecot-lmtpd and dovecot-lda, raw drops
into Dovecot maildir; Cyrus via its LMTP socket; ratchet-imapd via its LMTP listener, rs-deliver as
its LDA and raw drops into its root, where the store mutant that skips the
delivery lock must be caught. Broken LDAs (a wrapper around dovecot-lda
that lies about the outcome) must be caught too: those tests can fail.

The servers run on 127.0.0.1, started and stopped by PID
(scripts/servers/servers.py)."""
import imaplib
import json
import re
import sys
import time

import pytest

from conftest import ROOT, binary, run
from test_imapd import PASSWORD, USER
from test_imapd_lmtp import LmtpServer
from test_mutants import EXPECTED
from test_wire import need, ratchet_run, unexplained, unexplained_maildir

sys.path.insert(0, str(ROOT / "scripts" / "servers"))
import servers  # noqa: E402

OPS = "2500"


@pytest.fixture(scope="module", params=["maildir", "mdbox"])
def dovecot(request):
    need("dovecot")
    srv = servers.start_dovecot(request.param, lmtp=True)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def maildir_dovecot():
    need("dovecot")
    srv = servers.start_dovecot("maildir", lmtp=True)
    yield srv
    srv.stop()


def deliveries(history):
    """Outcome of every DELIVER op of a history: {"ok": n, "fail": n, "info": n}."""
    kinds, out = {}, {"ok": 0, "fail": 0, "info": 0}
    with open(history) as f:
        next(f)
        for line in f:
            e = json.loads(line)
            if e["ev"] == "invoke":
                kinds[e["id"]] = e["op"]["kind"]
            elif kinds.get(e["id"]) == "deliver":
                out[e["ev"]] += 1
    return out


def errors(r):
    return [v for v in r["violations"] if v["severity"] == "error"]


def judged_clean(srv, p, r):
    """A Dovecot run: clean, or (maildir) only what its log admits
    (test_wire.unexplained_maildir)."""
    assert r is not None, p.stdout + p.stderr
    bad = errors(r)
    if srv.kind == "dovecot-maildir":
        bad = unexplained_maildir(srv, bad)
    assert bad == [], (p.stdout[-3000:], bad[:5], srv.log_tail())
    assert p.returncode in (0, 1), p.stdout + p.stderr


def delivered(tmp_path, srv, ratchet, spec, seed):
    hist = tmp_path / "h.jsonl"
    p, r = ratchet_run(ratchet, tmp_path, srv.url(), "--deliver", spec, "--ops", OPS,
                       "--clients", "4", "--seed", str(seed), "--history", str(hist),
                       "--keep-going")
    return p, r, deliveries(hist)


# What a delivery path alone decides: the delivered message is there, once,
# under a fresh UID.
DELIVERY_RULES = {"ADD-NO-LOSS", "DELIVER-ONCE", "UID-ORDER-GLOBAL"}


def test_dovecot_lmtp(tmp_path, ratchet, dovecot):
    p, r, d = delivered(tmp_path, dovecot, ratchet, f"lmtp://127.0.0.1:{dovecot.lmtp_port}", 11)
    if dovecot.kind != "dovecot-maildir":
        judged_clean(dovecot, p, r)
    else:
        # Under LMTP load Dovecot maildir shows more of its own bugs than
        # test_wire's allowance covers, each once in a few runs: flags
        # taken back or set again, and (CI) "MOVE completed without
        # expunging moved UID" (MOVE-SHAPE) in the moving session. They
        # are not reduced yet (README, findings) and are printed here;
        # what the delivery path decides must hold outright.
        bad = unexplained_maildir(dovecot, errors(r))
        print("dovecot maildir, not judged here:", [(v["invariant"], v["detail"]) for v in bad
                                                    if v["invariant"] not in DELIVERY_RULES])
        assert [v for v in bad if v["invariant"] in DELIVERY_RULES] == [], bad[:5]
    # The stream really delivered, and the server acknowledged it.
    assert d["ok"] >= 100 and d["fail"] == 0, d
    assert "saved mail to" in open(dovecot.log, errors="replace").read()


def test_dovecot_lda(tmp_path, ratchet, dovecot):
    p, r, d = delivered(tmp_path, dovecot, ratchet, f"cmd:{dovecot.lda} -m %m", 12)
    judged_clean(dovecot, p, r)
    assert d["ok"] >= 20 and d["fail"] == 0, d
    assert re.search(r"lda\(alice\).*saved mail to", open(dovecot.log, errors="replace").read())


def test_dovecot_maildir_drop(tmp_path, ratchet, maildir_dovecot):
    srv = maildir_dovecot
    p, r, d = delivered(tmp_path, srv, ratchet, f"maildir:{srv.maildir}", 13)
    judged_clean(srv, p, r)
    assert d["ok"] >= 100 and d["fail"] == 0, d


def lying_lda(srv, tmp_path, body):
    """A delivery command around dovecot-lda that lies (body: what the
    shell does with $LDA, the real command with -m MAILBOX)."""
    script = tmp_path / "lda.sh"
    script.write_text("#!/bin/sh\nLDA=\"%s -m $RATCHET_MAILBOX\"\n%s\n" % (srv.lda, body))
    script.chmod(0o755)
    return f"cmd:{script}"


@pytest.mark.parametrize("body,inv", [
    # Delivered, then says it failed: an MTA would deliver it again.
    ("$LDA || exit 1\nexit 75", "DELIVER-ONCE"),
    # Delivered twice for one acknowledgement.
    ("msg=$(cat)\nprintf '%s\\n' \"$msg\" | $LDA && printf '%s\\n' \"$msg\" | $LDA", "DELIVER-ONCE"),
    # Says delivered, delivered nothing.
    ("cat >/dev/null\nexit 0", "ADD-NO-LOSS"),
])
def test_lying_lda_is_caught(tmp_path, ratchet, maildir_dovecot, body, inv):
    srv = maildir_dovecot
    p, r, d = delivered(tmp_path, srv, ratchet, lying_lda(srv, tmp_path, body), 14)
    assert p.returncode == 1, p.stdout + p.stderr
    assert inv in {v["invariant"] for v in errors(r)}, errors(r)[:3]


def test_refused_deliveries_are_not_added(tmp_path, ratchet, maildir_dovecot):
    """An unknown recipient: every delivery refused (550), none in a
    mailbox, and the run is clean."""
    srv = maildir_dovecot
    hist = tmp_path / "h.jsonl"
    p, r = ratchet_run(ratchet, tmp_path, srv.url(), "--deliver",
                       f"lmtp://127.0.0.1:{srv.lmtp_port}", "--deliver-rcpt", "nobody-here",
                       "--ops", "600", "--clients", "2", "--seed", "15",
                       "--history", str(hist))
    judged_clean(srv, p, r)
    d = deliveries(hist)
    assert d["ok"] == 0 and d["fail"] >= 20, d


def test_deliver_usage_errors(tmp_path, ratchet):
    for args, text in [
        (["--deliver", "lmtp://127.0.0.1:24"], "need --target"),
        (["--target", "imap://a:b@127.0.0.1:1", "--deliver", "smtp://x"], "--deliver"),
        (["--target", "imap://a:b@127.0.0.1:1", "--deliver", "maildir:relative"], "--deliver"),
        (["--target", "imap://a:b@127.0.0.1:1", "--deliver-rcpt", "x"], "--deliver-rcpt"),
    ]:
        p = run([ratchet, "run", *args], cwd=tmp_path, timeout=60)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert text in p.stderr and p.stderr.count("\n") == 1, (args, p.stderr)


# ---- ratchet-imapd: its LMTP listener, rs-deliver as its LDA, raw drops ----

def imapd_url(s):
    return f"imap://{USER}:{PASSWORD.replace(' ', '%20')}@127.0.0.1:{s.port}"


def imapd_spec(s, path, *mutant):
    rs_deliver = binary("RATCHET_RS_DELIVER", "rs-deliver")
    return {"lmtp": f"lmtp://127.0.0.1:{s.lport}",
            "lmtp-unix": f"lmtp:{s.sock}",
            "lda": f"cmd:{rs_deliver} {' '.join(mutant)} {s.root}/%e",
            "maildir": f"maildir:{s.root}/%e"}[path]


def imapd_run(ratchet, tmp_path, s, spec, seed, *extra):
    hist = tmp_path / "h.jsonl"
    p, r = ratchet_run(ratchet, tmp_path, imapd_url(s), "--deliver", spec, "--clients", "4",
                       "--seed", str(seed), "--history", str(hist), *extra)
    return p, r, deliveries(hist)


@pytest.mark.parametrize("path", ["lmtp", "lmtp-unix", "lda", "maildir"])
def test_imapd_delivery_paths_clean(tmp_path, ratchet, imapd, path):
    s = LmtpServer(imapd)
    try:
        p, r, d = imapd_run(ratchet, tmp_path, s, imapd_spec(s, path), 21, "--ops", OPS)
    finally:
        s.stop()
        s.cleanup()
    assert p.returncode == 0, (p.stdout[-3000:], errors(r)[:3] if r else p.stderr)
    assert d["ok"] >= 100 and d["fail"] == 0, d


@pytest.mark.parametrize("path", ["lmtp", "lda"])
def test_imapd_deliver_nolock_caught_over_the_wire(tmp_path, ratchet, imapd, path):
    """The store mutant that takes the UID without the delivery lock,
    served by ratchet-imapd and fed through a real delivery path, is
    caught (UID or add families, as in the simulator). Real processes
    race for real: up to four runs of 20 s, on fresh servers."""
    for seed in (3, 4, 5, 6):
        s = LmtpServer(imapd, "--mutant", "deliver-nolock")
        try:
            p, r, d = imapd_run(ratchet, tmp_path, s,
                                imapd_spec(s, path, "--mutant", "deliver-nolock"), seed,
                                "--seconds", "20")
        finally:
            s.stop()
            s.cleanup()
        assert d["ok"] > 0, d
        if p.returncode != 0:
            break
    assert p.returncode == 1, p.stdout + p.stderr
    families = {v["family"].split(".")[0] for v in errors(r)}
    assert families & EXPECTED["deliver-nolock"], (families, p.stdout)


# ---- Cyrus: its LMTP on a UNIX socket ----

@pytest.fixture(scope="module")
def cyrus_lmtp():
    """Cyrus with posting ("p") for anyone on alice's INBOX: Cyrus
    delivers to "alice+FOLDER" only into a folder the sender may post to,
    and the run's mailboxes, made under INBOX, inherit its ACL (without it
    every delivery lands in INBOX, as Cyrus documents for plus addresses)."""
    need("cyrus")
    srv = servers.start_cyrus()
    sock = srv.dir / "conf" / "lmtp.sock"
    for _ in range(100):
        if sock.exists():
            break
        time.sleep(0.05)
    m = imaplib.IMAP4("127.0.0.1", srv.port)
    m.login("alice", dict(servers.USERS)["alice"])
    assert m.setacl("INBOX", "anyone", "p")[0] == "OK"
    m.logout()
    srv.lmtp_sock = sock
    yield srv
    srv.stop()


def test_cyrus_lmtp(tmp_path, ratchet, cyrus_lmtp):
    srv = cyrus_lmtp
    hist = tmp_path / "h.jsonl"
    p, r = ratchet_run(ratchet, tmp_path, srv.url(), "--deliver", f"lmtp:{srv.lmtp_sock}",
                       "--ops", OPS, "--clients", "4", "--seed", "16", "--history", str(hist),
                       "--keep-going")
    assert r is not None, p.stdout + p.stderr
    bad = unexplained(srv, r["violations"], hist)
    assert bad == [], (p.stdout[-2000:], bad[:5])
    d = deliveries(hist)
    assert d["ok"] >= 100 and d["fail"] == 0, d
