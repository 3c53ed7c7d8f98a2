"""Issue 10, section 2: ratchet is never the thing that crashes.

Crafted histories for `ratchet check` (a UID of 0, counts of 2^32-1, a UID
near 2^32, a COPYUID claiming 2^32 pairs), crafted replay files, and a
scripted hostile server (tests/hostile.py) for `ratchet run`: a UID of 0,
EXISTS 4294967295, floods of untagged responses and continuations, and an
internal error (out of memory under an address-space limit) that must
exit 3 with the history flushed, the report written and the server's
mailboxes deleted.

Every case asserts the exit code and a clear message; RSS is bounded
(/usr/bin/time) and every subprocess has a timeout as the hang guard."""
import json
import os
import resource
import subprocess

import pytest

import hostile

RSS_LIMIT_KB = 256 * 1024
HEADER = ('{"ratchet_history":1,"seed":0,"target":"imap://127.0.0.1:143",'
          '"capabilities":["UIDPLUS","CONDSTORE","MOVE"],"clients":1}')
START = [
    '{"t":1000,"c":1,"id":1,"ev":"invoke","op":{"kind":"connect"}}',
    '{"t":2000,"c":1,"id":1,"ev":"ok","status":"OK"}',
    '{"t":3000,"c":1,"id":2,"ev":"invoke","op":{"kind":"select","mailbox":"INBOX"}}',
]


def timed(args, cwd, timeout=60, **kw):
    """Runs args under /usr/bin/time; returns (CompletedProcess, max RSS in KB)."""
    proc = subprocess.Popen(["/usr/bin/time", "-f", "rss=%M", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, **kw)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)          # ratchet too, not only time(1)
        proc.communicate()
        raise
    p = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    lines = p.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("rss="), p.stderr
    p.stderr = "\n".join(lines[:-1])
    return p, int(lines[-1][4:])


def history(tmp_path, *events):
    path = tmp_path / "h.jsonl"
    path.write_text("\n".join([HEADER, *START, *events]) + "\n")
    return path


def check(ratchet, tmp_path, *events):
    report = tmp_path / "r.json"
    p, rss = timed([ratchet, "check", str(history(tmp_path, *events)),
                    "--report", str(report)], tmp_path)
    assert rss < RSS_LIMIT_KB, rss
    return p, json.loads(report.read_text()) if report.exists() else None


def ids(report):
    return [v["invariant"] for v in report["violations"]]


def test_check_uid_zero_is_a_violation(ratchet, tmp_path):
    p, r = check(ratchet, tmp_path,
                 '{"t":4000,"c":1,"id":2,"ev":"ok","status":"OK","untagged":[{"exists":1},'
                 '{"code":{"name":"UIDVALIDITY","value":1}},{"code":{"name":"UIDNEXT","value":2}}]}',
                 '{"t":5000,"c":1,"id":3,"ev":"invoke","op":{"kind":"fetch","uid":true,'
                 '"set":"1","items":["UID","FLAGS"]}}',
                 '{"t":6000,"c":1,"id":3,"ev":"ok","status":"OK","untagged":'
                 '[{"fetch":{"seq":1,"uid":1,"flags":[]}}]}',
                 '{"t":7000,"c":1,"id":4,"ev":"invoke","op":{"kind":"noop"}}',
                 '{"t":8000,"c":1,"id":4,"ev":"ok","status":"OK","untagged":'
                 '[{"fetch":{"seq":1,"uid":0,"flags":[]}}]}')
    assert p.returncode == 1, p.stderr
    assert "ERROR UID-NONZERO INBOX client 1: FETCH for sequence 1 says UID 0" in p.stdout
    assert ids(r) == ["UID-NONZERO"]


@pytest.mark.parametrize("count", [200000000, 4294967295])
def test_check_claimed_count_costs_nothing(ratchet, tmp_path, count):
    # Was 6.25 GB for 200M (and out of memory, exit 134, for 2^32-1).
    p, r = check(ratchet, tmp_path,
                 '{"t":4000,"c":1,"id":2,"ev":"ok","status":"OK","untagged":[{"exists":%d},'
                 '{"code":{"name":"UIDVALIDITY","value":1}}]}' % count,
                 '{"t":5000,"c":1,"id":3,"ev":"invoke","op":{"kind":"store",'
                 '"set":"1:4294967295","mode":"+","flags":["\\\\Seen"]}}',
                 '{"t":6000,"c":1,"id":3,"ev":"ok","status":"OK","untagged":'
                 '[{"fetch":{"seq":1,"uid":5,"flags":["\\\\Seen"]}},'
                 '{"fetch":{"seq":%d,"flags":["\\\\Seen"]}}]}' % count,
                 '{"t":7000,"c":1,"id":4,"ev":"invoke","op":{"kind":"noop"}}',
                 '{"t":8000,"c":1,"id":4,"ev":"ok","status":"OK","untagged":'
                 '[{"expunge":%d},{"expunge":2}]}' % count)
    assert p.returncode == 0, p.stdout + p.stderr
    # Sequence number `count` lies beyond what the checker follows: one
    # warning, and the session's view is dropped until it selects again.
    assert ids(r) == ["SESSION-VIEW-CONVERGES"]
    assert "more than the checker follows (1048576 messages" in p.stdout


def test_check_uid_near_2_32_is_cheap(ratchet, tmp_path):
    # Was 62 s for 1.3 KB: every UID FETCH 1:* walked to the largest UID.
    events = ['{"t":4000,"c":1,"id":2,"ev":"ok","status":"OK","untagged":[{"exists":2},'
              '{"code":{"name":"UIDVALIDITY","value":1}}]}']
    t = 5000
    for i in range(3, 43):
        events.append('{"t":%d,"c":1,"id":%d,"ev":"invoke","op":{"kind":"fetch","uid":true,'
                      '"set":"1:4294967295","items":["UID","FLAGS"]}}' % (t, i))
        events.append('{"t":%d,"c":1,"id":%d,"ev":"ok","status":"OK","untagged":'
                      '[{"fetch":{"seq":1,"uid":1,"flags":[]}},'
                      '{"fetch":{"seq":2,"uid":4294967290,"flags":[]}}]}' % (t + 1, i))
        t += 2
    events.append('{"t":%d,"c":1,"id":50,"ev":"invoke","op":{"kind":"copy","uid":true,'
                  '"set":"2:4294967295","mailbox":"Other"}}' % t)
    events.append('{"t":%d,"c":1,"id":50,"ev":"ok","status":"OK","code":{"name":"COPYUID",'
                  '"uidvalidity":9,"src":"2:4294967295","dst":"1:4294967294"}}' % (t + 1))
    p, r = check(ratchet, tmp_path, *events)    # 60 s timeout: the hang guard
    assert p.returncode == 0, p.stdout + p.stderr
    assert "no violations" in p.stdout


@pytest.mark.parametrize("field,value,says", [
    ("ops", "-1", '"ops" must be a whole number from 0 to 1000000'),
    ("ops", '"many"', '"ops" must be a whole number from 0 to 1000000'),
    ("clients", "100000", '"clients" must be a whole number from 0 to 64'),
    ("seed", "-5", '"seed" must be a whole number from 0 to 9223372036854775807'),
    ("ratchet_replay", "2", '"ratchet_replay" must be a whole number from 1 to 1'),
])
def test_replay_numbers_are_validated(ratchet, tmp_path, field, value, says):
    doc = {"ratchet_replay": 1, "target": "sim", "seed": 5, "ops": 20}
    text = json.dumps(doc)[:-1] + ', "%s": %s}' % (field, value)
    path = tmp_path / "x.replay.json"
    path.write_text(text)
    p = subprocess.run([ratchet, "replay", str(path)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2, p.stdout + p.stderr
    assert p.stderr.strip() == "ratchet: replay: %s: %s" % (path, says)


# ---- against a scripted hostile server ----

class Attack(hostile.BlackHole):
    """A black hole that answers its k-th NOOP with `bad` first."""

    def __init__(self, bad, k=3):
        super().__init__("IMAP4rev1 LITERAL+ UIDPLUS")
        self.bad, self.k, self.noops = bad, k, 0

    def cmd_noop(self, sess, cmd):
        with self.lock:
            self.noops += 1
            now = self.noops == self.k
        if now:
            if callable(self.bad):
                self.bad(sess)
            else:
                sess.send(self.bad)
        self.ok(sess, cmd)

    cmd_check = cmd_noop


def wire(ratchet, tmp_path, behaviour, *extra, limit_as=None, timeout=180):
    srv = hostile.FakeServer(behaviour)
    report, hist = tmp_path / "report.json", tmp_path / "h.jsonl"

    def cap():
        if limit_as is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limit_as, limit_as))
    try:
        p, rss = timed([ratchet, "run", "--quiet", "--target", srv.url(), "--ops", "300",
                        "--seed", "5", "--clients", "2", "--report", str(report),
                        "--history", str(hist), *extra], tmp_path, timeout=timeout,
                       preexec_fn=cap)
    finally:
        srv.stop()
    r = json.loads(report.read_text()) if report.exists() else None
    return p, rss, r, hist


def test_server_uid_zero_is_reported(ratchet, tmp_path):
    p, rss, r, _ = wire(ratchet, tmp_path,
                        Attack(b"* 1 EXISTS\r\n* 1 FETCH (UID 0 FLAGS ())\r\n"))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "internal error" not in p.stderr
    assert "UID-NONZERO" in ids(r)
    assert rss < RSS_LIMIT_KB, rss


def test_server_exists_2_32_is_cheap(ratchet, tmp_path):
    # Was a 256 GiB allocation (exit 134).
    p, rss, r, _ = wire(ratchet, tmp_path, Attack(b"* 4294967295 EXISTS\r\n"))
    assert p.returncode in (0, 1), p.stdout + p.stderr
    assert "internal error" not in p.stderr
    assert r is not None
    assert rss < RSS_LIMIT_KB, rss


@pytest.mark.parametrize("line", [b"* 1 EXISTS\r\n", b"+ more\r\n"])
def test_flood_hits_the_response_budget(ratchet, tmp_path, line):
    # Was 6.87 GB of RSS for 77.6 MB of "* 1 EXISTS" (until the timeout).
    block = line * 65536

    def flood(sess):
        for _ in range(300000 * len(line) // len(block) + 2):
            sess.send(block)
    p, rss, r, hist = wire(ratchet, tmp_path, Attack(flood))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "internal error" not in p.stderr
    assert "response budget exceeded: more than 200000 untagged responses" in \
        hist.read_text()
    assert rss < RSS_LIMIT_KB, rss


def test_internal_error_exits_3_and_saves_everything(ratchet, tmp_path):
    """A real internal error: out of memory (two 60 MB literals, within
    the parser's limits, under a 100 MB address-space limit). Before: abort,
    exit 134, a 0-byte history, no report, the run's mailboxes left."""
    big = 60 << 20

    def literal(sess):
        # Two literals in one response (within max_response, 128 MiB):
        # the parser holds 120 MB, more than the limit lets it have.
        chunk = b"x" * (1 << 20)
        sess.send(b"* 1 EXISTS\r\n* 1 FETCH (UID 1 BODY[] {%d}\r\n" % big)
        for _ in range(big >> 20):
            sess.send(chunk)
        sess.send(b" BODY[TEXT] {%d}\r\n" % big)
        for _ in range(big >> 20):
            sess.send(chunk)
        sess.send(b")\r\n")
    box = Attack(literal)
    p, _, r, hist = wire(ratchet, tmp_path, box, limit_as=100 << 20)
    assert p.returncode == 3, p.stdout + p.stderr
    assert "ratchet: internal error: out of memory" in p.stderr
    # The history so far is on disk, whole lines of valid JSON.
    lines = hist.read_text().splitlines()
    assert len(lines) > 10
    assert all(json.loads(x) for x in lines)
    # The report says why it stopped, with what was found so far.
    assert r is not None and r["summary"]["failure"].startswith("internal error: out of memory")
    # Its mailboxes were named and deleted.
    assert "this run's mailboxes on" in p.stderr and "deleting them" in p.stderr
    assert set(box.boxes) == {"INBOX"}, box.boxes


def test_check_internal_error_exits_3_with_a_report(ratchet, tmp_path):
    """Out of memory while checking (400,000 messages under a 60 MB
    address-space limit): exit 3 and a report of what was checked so far.
    Before: the JSON library's failure read as 'invalid JSON at column -1'
    (exit 2), and a checker allocation aborted (exit 134), no report."""
    out = [HEADER, *START,
           '{"t":4000,"c":1,"id":2,"ev":"ok","status":"OK","untagged":[{"exists":400000},'
           '{"code":{"name":"UIDVALIDITY","value":1}}]}']
    t, seq = 5000, 1
    for i in range(3, 403):
        items = ",".join('{"fetch":{"seq":%d,"uid":%d,"flags":[]}}' % (s, s)
                         for s in range(seq, seq + 1000))
        seq += 1000
        out.append('{"t":%d,"c":1,"id":%d,"ev":"invoke","op":{"kind":"noop"}}' % (t, i))
        out.append('{"t":%d,"c":1,"id":%d,"ev":"ok","status":"OK","untagged":[%s]}'
                   % (t + 1, i, items))
        t += 2
    path, report = tmp_path / "big.jsonl", tmp_path / "r.json"
    path.write_text("\n".join(out) + "\n")
    limit = 60 << 20

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    p = subprocess.run([ratchet, "check", str(path), "--report", str(report)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120, preexec_fn=cap)
    assert p.returncode == 3, p.stdout + p.stderr
    assert p.stderr.startswith("ratchet: internal error: out of memory"), p.stderr
    summary = json.loads(report.read_text())["summary"]
    assert summary["failure"].startswith("internal error: out of memory")
    assert summary["events"] > 100


def test_check_vanished_over_a_claimed_count_is_cheap(ratchet, tmp_path):
    # Each UID of the range was matched to a blank entry, one by one.
    p, r = check(ratchet, tmp_path,
                 '{"t":4000,"c":1,"id":2,"ev":"ok","status":"OK","untagged":[{"exists":4294967295},'
                 '{"code":{"name":"UIDVALIDITY","value":1}}]}',
                 '{"t":5000,"c":1,"id":3,"ev":"invoke","op":{"kind":"noop"}}',
                 '{"t":6000,"c":1,"id":3,"ev":"ok","status":"OK","untagged":'
                 '[{"fetch":{"seq":1000000,"flags":[]}},{"vanished":"1:4294967295"}]}')
    assert p.returncode == 1, p.stdout + p.stderr
    assert "VANISHED-INSTEAD" in ids(r)    # sent without QRESYNC
