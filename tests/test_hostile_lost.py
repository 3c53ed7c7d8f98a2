"""Servers that lose acknowledged mail are caught (ADD-NO-LOSS): a black
hole that answers OK to every APPEND and keeps nothing, with and without
UIDPLUS; a proxy in front of ratchet-imapd that silently drops every tenth
APPEND; one that drops an APPEND only while another session has the
mailbox selected. Through the same proxy, nothing dropped, the run is
clean: the rule fires on the loss, not on the proxy."""
import threading

import pytest

import hostile
from test_hostile_findings import proxied, wire_run as ratchet_run


def errors_by_id(r):
    return {k: v for k, v in r["summary"]["violations_by_id"].items()
            if any(x["invariant"] == k and x["severity"] == "error"
                   for x in r["violations"])}


@pytest.mark.parametrize("caps", ["IMAP4rev1 LITERAL+ UIDPLUS", "IMAP4rev1 LITERAL+"])
def test_black_hole_is_caught(ratchet, tmp_path, caps):
    srv = hostile.FakeServer(hostile.BlackHole(caps))
    try:
        p, r = ratchet_run(ratchet, tmp_path, srv.url())
    finally:
        srv.stop()
    assert p.returncode == 1, p.stdout + p.stderr
    assert "ADD-NO-LOSS" in p.stdout
    assert srv.behaviour.appends > 0
    lost = [v for v in r["violations"] if v["invariant"] == "ADD-NO-LOSS"]
    assert lost and all(v["severity"] == "error" for v in lost)
    assert "acknowledged OK" in lost[0]["detail"]
    # The report cites the add that was lost.
    assert len(lost[0]["events"]) >= 1


class DropAppends(hostile.Policy):
    """Answers OK to some APPENDs without passing them on. `uidplus`
    False hides UIDPLUS from the client (ratchet then matches by the
    message's identity)."""

    def __init__(self, every=0, when_others_selected=False, uidplus=True):
        self.every, self.others, self.uidplus = every, when_others_selected, uidplus
        self.n = self.dropped = 0
        self.lock = threading.Lock()

    def drop(self, proxy, sess, cmd):
        if self.others:
            return proxy.others_selected(sess, hostile.unquote(cmd.arg(0)))
        with self.lock:
            self.n += 1
            return self.n % self.every == 0

    def on_command(self, proxy, sess, cmd):
        if cmd.verb != "APPEND" or not self.drop(proxy, sess, cmd):
            return None
        with self.lock:
            self.dropped += 1
        return cmd.tag + b" OK APPEND completed\r\n"

    def on_server_line(self, proxy, sess, line):
        if not self.uidplus and b"CAPABILITY" in line.upper():
            return line.replace(b" UIDPLUS", b"")
        return line


def test_proxy_dropping_nothing_is_clean(ratchet, imapd, tmp_path):
    policy = DropAppends(every=10 ** 9)
    p, r = proxied(ratchet, imapd, tmp_path, policy, ops="600")
    assert policy.n > 0
    assert p.returncode == 0, p.stdout + p.stderr
    assert r["summary"]["adds_checked"] > 100
    assert r["summary"]["violations_by_id"] == {}


@pytest.mark.parametrize("uidplus", [True, False])
def test_every_tenth_append_dropped_is_caught(ratchet, imapd, tmp_path, uidplus):
    policy = DropAppends(every=10, uidplus=uidplus)
    p, r = proxied(ratchet, imapd, tmp_path, policy, ops="600")
    assert policy.dropped > 0
    assert p.returncode == 1, p.stdout + p.stderr
    assert "ADD-NO-LOSS" in errors_by_id(r), r["summary"]["violations_by_id"]


def test_append_dropped_while_another_session_selected_is_caught(ratchet, imapd, tmp_path):
    policy = DropAppends(when_others_selected=True)
    p, r = proxied(ratchet, imapd, tmp_path, policy, ops="600")
    assert policy.dropped > 0
    assert p.returncode == 1, p.stdout + p.stderr
    assert "ADD-NO-LOSS" in errors_by_id(r), r["summary"]["violations_by_id"]


class DropStores(hostile.Policy):
    """Answers OK to every tenth STORE without passing it on."""

    def __init__(self):
        self.n = self.dropped = 0
        self.lock = threading.Lock()

    def on_command(self, proxy, sess, cmd):
        if cmd.verb not in ("STORE", "UID STORE"):
            return None
        with self.lock:
            self.n += 1
            if self.n % 10:
                return None
            self.dropped += 1
        return cmd.tag + b" OK STORE completed\r\n"


def test_every_tenth_store_dropped_is_caught(ratchet, imapd, tmp_path):
    """A STORE acknowledged OK must show in every fresh read after it:
    FLAGS-MERGE holds the read to it (no separate rule needed)."""
    policy = DropStores()
    p, r = proxied(ratchet, imapd, tmp_path, policy, ops="1500")
    assert policy.dropped > 0
    assert p.returncode == 1, p.stdout + p.stderr
    assert "FLAGS-MERGE" in errors_by_id(r), r["summary"]["violations_by_id"]
