"""Command orders against real servers: `ratchet explore SCENARIO
--target imap://...` (docs/explore.md, "Against a real server").

Against Dovecot (maildir and mdbox, the fixture of tests/test_wire.py) a
few small catalogue scenarios run every order of their commands, clean;
the number of orders is the multinomial this test computes from the
scenario file itself. A server that is wrong (ratchet-imapd with the
flags-last-writer mutant, over TCP like any server) is caught in a
command order, with a history and a replay file whose replay fails
again. A server whose new mailboxes do not start at UID 1 (a scripted
fake, tests/hostile.py) stops the scenario with a one-line set-up error.
The enumerator's count and distinctness are the ctest explore_orders
(brute force)."""
import json
import math
import re

import pytest

import hostile
from conftest import ROOT, run
from test_imapd import PASSWORD, USER, Server
from test_wire import dovecot, mailboxes, servers  # noqa: F401 (the fixture)

SCENARIOS = ROOT / "scenarios"
# Small ones: 4 to 12 orders each, a client with an agent, three clients.
SMALL = ["move-vs-move", "flags-add-vs-remove", "append-vs-deliver",
         "unchangedsince-vs-store", "deliver-vs-deliver"]


def steps_per_client(name):
    """Each client's and agent's number of steps, read from the file
    (an expectation of a reply, `* ...`, `! ...`, `? ...`, `OK`, `NO` or
    `BAD`, is not a step)."""
    counts, cur = [], None
    for line in (SCENARIOS / f"{name}.scn").read_text().splitlines():
        t = line.strip()
        if not t or t.startswith("#") or t[0] in "*!?" or t in ("OK", "NO", "BAD"):
            continue
        if re.match(r"(client|agent) \S+:$", line):
            counts.append(0)
            cur = len(counts) - 1
        elif line[0] in " \t":
            assert cur is not None, line
            counts[cur] += 1
        else:
            cur = None
    return counts


def multinomial(counts):
    return math.factorial(sum(counts)) // math.prod(math.factorial(c) for c in counts)


def explore(ratchet, tmp_path, url, *args, timeout=300):
    report = tmp_path / "r.json"
    p = run([ratchet, "explore", "--target", url, "--report", str(report), *args],
            cwd=tmp_path, timeout=timeout)
    r = json.loads(report.read_text()) if report.exists() else None
    return p, r


def test_multinomial_of_the_issue():
    """The issue's 2 clients x 4 commands are 70 orders; the helper that
    the tests below compare with counts like that."""
    assert multinomial([4, 4]) == 70
    assert steps_per_client("move-vs-store") == [2, 4]


def test_dovecot_every_order_clean(ratchet, tmp_path, dovecot):  # noqa: F811
    for name in SMALL:
        p, r = explore(ratchet, tmp_path, dovecot.url(), str(SCENARIOS / f"{name}.scn"))
        assert p.returncode == 0, p.stdout + p.stderr + dovecot.log_tail()
        (s,) = r["scenarios"]
        want = multinomial(steps_per_client(name))
        assert s["name"] == name and s["mode"] == "orders"
        assert s["orders"] == want and s["orders_run"] == want, (name, s, want)
        assert s["complete"] and s["failing"] == 0 and not s["failing_invariants"], s
        assert s["server_internals_scheduled"] is False and s["delivery"] == "imap-append"
        assert f"{want} command orders" in p.stdout
        assert "every command order covered" in p.stdout
        assert "internal interleavings are not scheduled" in p.stdout
    # Every order's mailboxes, and the prefix, are gone; INBOX untouched.
    assert not [b for b in mailboxes(dovecot) if "ratchet-explore" in b]


def test_max_execs_is_partial(ratchet, tmp_path, dovecot):  # noqa: F811
    p, r = explore(ratchet, tmp_path, dovecot.url(), "--max-execs", "3",
                   str(SCENARIOS / "flags-add-vs-remove.scn"))
    assert p.returncode == 0, p.stdout + p.stderr
    (s,) = r["scenarios"]
    assert s["orders"] == 10 and s["orders_run"] == 3 and not s["complete"], s
    assert "10 command orders" in p.stdout and "coverage is partial" in p.stdout
    # One order alone, by its number; a number past the last is refused.
    p, r = explore(ratchet, tmp_path, dovecot.url(), "--order", "7",
                   str(SCENARIOS / "flags-add-vs-remove.scn"))
    assert p.returncode == 0, p.stdout + p.stderr
    (s,) = r["scenarios"]
    assert s["orders_run"] == 1 and s["first_order"] == 7 and not s["complete"], s
    p, r = explore(ratchet, tmp_path, dovecot.url(), "--order", "10",
                   str(SCENARIOS / "flags-add-vs-remove.scn"))
    assert p.returncode == 2 and "orders 0 to 9" in p.stderr, p.stdout + p.stderr


@pytest.fixture
def wrong_server(imapd):
    s = Server(imapd, "--mutant", "flags-last-writer")
    yield s
    s.stop()


def test_wrong_server_is_caught_and_replayed(ratchet, tmp_path, wrong_server):
    """ratchet-imapd storing a whole flag set read before another
    session's change (flags-last-writer): some order of
    flags-add-vs-remove loses a flag; the history is judged the same by
    `ratchet check`, and the replay file's order fails again."""
    url = f"imap://{USER}:{PASSWORD.replace(' ', '%20')}@127.0.0.1:{wrong_server.port}"
    scn = str(SCENARIOS / "flags-add-vs-remove.scn")
    p, r = explore(ratchet, tmp_path, url, scn)
    assert p.returncode == 1, p.stdout + p.stderr
    (s,) = r["scenarios"]
    assert s["complete"] and s["orders_run"] == 10 and s["failing"] >= 1, s
    f = s["failure"]
    assert f["invariant"] == "FLAGS-MERGE" and "A: SELECT INBOX (line" in f["order"], f
    replay, hist = tmp_path / f["replay"], tmp_path / f["history"]
    rp = json.loads(replay.read_text())
    assert rp["target"] == "explore" and rp["order"] == f["order_index"]
    assert PASSWORD not in replay.read_text() and "s3cret" not in p.stdout
    c = run([ratchet, "check", str(hist)], cwd=tmp_path)
    assert c.returncode == 1, c.stdout + c.stderr
    again = run([ratchet, "replay", str(replay), "--target", url], cwd=tmp_path)
    assert again.returncode == 1 and "FLAGS-MERGE" in again.stdout, again.stdout + again.stderr
    no_url = run([ratchet, "replay", str(replay)], cwd=tmp_path)
    assert no_url.returncode == 2 and len(no_url.stderr.strip().splitlines()) == 1


def test_correct_imapd_every_order_clean(ratchet, tmp_path, imapd):
    """The catalogue against the correct ratchet-imapd: every order of
    every scenario, clean (the same store the embedded exploration runs,
    now over TCP)."""
    s = Server(imapd)
    try:
        url = f"imap://{USER}:{PASSWORD.replace(' ', '%20')}@127.0.0.1:{s.port}"
        p, r = explore(ratchet, tmp_path, url, str(SCENARIOS))
    finally:
        s.stop()
    assert p.returncode == 0, p.stdout + p.stderr
    for sc in r["scenarios"]:
        counts = steps_per_client(sc["name"])
        assert sc["orders_run"] == multinomial(counts) and sc["complete"], sc
        assert sc["failing"] == 0, sc


def test_unreachable_port_is_one_line_exit_2(ratchet, tmp_path):
    port = servers.free_port()
    p, r = explore(ratchet, tmp_path, f"imap://a:b@127.0.0.1:{port}",
                   str(SCENARIOS / "move-vs-move.scn"))
    assert p.returncode == 2, p.stdout + p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "127.0.0.1" in lines[0] and "b@" not in lines[0], p.stderr


@pytest.mark.parametrize("url", ["http://a:b@127.0.0.1:143", "imap://nopass@127.0.0.1",
                                 "imap://a:b@127.0.0.1:70000"])
def test_bad_url_is_one_line_exit_2(ratchet, tmp_path, url):
    p, r = explore(ratchet, tmp_path, url, str(SCENARIOS / "move-vs-move.scn"))
    assert p.returncode == 2, p.stdout + p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr


@pytest.mark.parametrize("opt", [["--bound", "1"], ["--mutant", "move-rename"],
                                 ["--mode", "pct"], ["--plain"]])
def test_simulator_options_refused_with_target(ratchet, tmp_path, opt):
    p, r = explore(ratchet, tmp_path, "imap://a:b@127.0.0.1:1", *opt,
                   str(SCENARIOS / "move-vs-move.scn"))
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert opt[0] in p.stderr


def test_server_without_extensions(ratchet, tmp_path, imapd):
    """ratchet-imapd offering no extension: a scenario that needs MOVE is
    a one-line set-up error (exit 2), never a substitute command; one that
    needs none runs every order, its starting messages' UIDs checked by
    STATUS (no APPENDUID); nothing is left behind."""
    s = Server(imapd, "--caps", "")
    try:
        url = f"imap://{USER}:{PASSWORD.replace(' ', '%20')}@127.0.0.1:{s.port}"
        p, r = explore(ratchet, tmp_path, url, str(SCENARIOS / "move-vs-move.scn"))
        assert p.returncode == 2, p.stdout + p.stderr
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and "move-vs-move needs MOVE" in lines[0], p.stderr
        (sc,) = r["scenarios"]
        assert sc["setup_failed"] and not sc["complete"] and sc["orders_run"] == 0, sc
        # Without its "capabilities:" line, the step itself is refused.
        bare = tmp_path / "bare.scn"
        bare.write_text("".join(line for line in (SCENARIOS / "move-vs-move.scn")
                                .read_text().splitlines(True)
                                if not line.startswith("capabilities:")))
        p, r = explore(ratchet, tmp_path, url, str(bare))
        assert p.returncode == 2, p.stdout + p.stderr
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and "UID MOVE 1" in lines[0], p.stderr
        p, r = explore(ratchet, tmp_path, url, str(SCENARIOS / "flags-add-vs-remove.scn"))
        assert p.returncode == 0, p.stdout + p.stderr
        (sc,) = r["scenarios"]
        assert sc["complete"] and sc["orders_run"] == 10 and not sc["setup_failed"], sc
        m = s.client()
        typ, boxes = m.list('""', "*")
        m.logout()
        assert not [b for b in boxes if b and b"ratchet-explore" in b], boxes
    finally:
        s.stop()


class UidsFromFive(hostile.BlackHole):
    """A server whose new mailbox does not start at UID 1 (as if it kept
    the UID counter of a mailbox of the same name): the scenario's
    `UID STORE 1` would name nothing there."""

    def cmd_create(self, sess, cmd):
        with self.lock:
            self.boxes[hostile.unquote(cmd.arg(0))] = 5
        self.ok(sess, cmd)


@pytest.mark.parametrize("caps,says", [("IMAP4rev1 LITERAL+ UIDPLUS", "got UID 5 (APPENDUID), not 1"),
                                       ("IMAP4rev1 LITERAL+", "below UIDNEXT 6")])
def test_starting_uids_not_from_1_is_a_setup_error(ratchet, tmp_path, caps, says):
    """The starting messages' UIDs are checked, by APPENDUID or (without
    UIDPLUS) by STATUS: a mismatch stops the scenario with one line and
    exit 2 instead of testing something else, and the order's mailboxes
    are deleted."""
    behaviour = UidsFromFive(caps)
    srv = hostile.FakeServer(behaviour)
    try:
        p, r = explore(ratchet, tmp_path, srv.url(), str(SCENARIOS / "flags-add-vs-remove.scn"),
                       timeout=120)
    finally:
        srv.stop()
    assert p.returncode == 2, p.stdout + p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], p.stderr
    (sc,) = r["scenarios"]
    assert sc["setup_failed"] and sc["orders_run"] == 0 and not sc["complete"], sc
    assert not [b for b in behaviour.boxes if "ratchet-explore" in b], behaviour.boxes
