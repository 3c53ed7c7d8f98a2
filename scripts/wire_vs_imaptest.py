#!/usr/bin/python3
"""ratchet's wire driver beside Dovecot's imaptest on the same Dovecot.

Usage: /usr/bin/python3 scripts/wire_vs_imaptest.py [--imaptest PATH]
           [--ratchet PATH] [--rounds N] [--clients C] [--seconds S]
           [--mailbox-size M] [--seed N] [--json]

Runs N rounds (default 3), each one `ratchet run --target` (every command
recorded and checked, as `ratchet bench` measures wire.dovecot.ops) and one
imaptest run with the same clients, seconds and mailbox size, which of the
two goes first alternating from round to round so that a slow spell of a
shared machine hits both. Every run gets a fresh Dovecot (mdbox) on
127.0.0.1 (scripts/servers/servers.py), stopped by PID after it, also on
errors: mdbox keeps expunged messages in its storage files until a purge,
so a server that served earlier runs makes every command dearer (on one
server, Dovecot's CPU per imaptest command rose by a tenth per 10 s run).
Prints per round and as medians: commands/s of each, the ratio
ratchet/imaptest, each tool's own CPU per 1,000 commands (getrusage of the
children it waited for) and Dovecot's over the same window (its process
tree's CPU from /proc).

imaptest is not part of ratchet: build it yourself (README, Benchmarks)
and give its path with --imaptest or $RATCHET_IMAPTEST.

Exit status: 0 clean, 1 a ratchet run reported violations (its figures are
still printed, marked), 2 usage or set-up error (imaptest or ratchet
missing, Dovecot not starting, a tool failing to run), 3 internal error or
interrupted. Errors are one line on stderr.
"""
import argparse
import contextlib
import imaplib
import json
import os
import pathlib
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts" / "servers"))
import servers  # noqa: E402

# ratchet works as alice in its own ratchet-<seed>/ mailboxes, imaptest as
# bob in one mailbox the script creates.
RATCHET_USER = "alice"
IMAPTEST_USER = "bob"
IMAPTEST_BOX = "imaptest"
# Distinct messages in the generated mbox; imaptest cycles through them.
MBOX_MESSAGES = 1000


class Failed(Exception):
    """A one-line error and the exit status it ends the script with."""

    def __init__(self, code, text):
        super().__init__(text)
        self.code = code


class Parser(argparse.ArgumentParser):
    def error(self, message):
        # argparse prints its usage too: one line is the project's rule.
        raise Failed(2, message)


def parse_args(argv):
    p = Parser(
        prog="wire_vs_imaptest.py",
        description="ratchet's wire driver beside imaptest on one Dovecot")
    p.add_argument("--imaptest", default=os.environ.get("RATCHET_IMAPTEST"),
                   help="a locally built imaptest (default $RATCHET_IMAPTEST)")
    p.add_argument("--ratchet", default=str(ROOT / "build-release" / "ratchet"),
                   help="the ratchet binary (default build-release/ratchet)")
    p.add_argument("--rounds", type=positive, default=3)
    p.add_argument("--clients", type=positive, default=10)
    p.add_argument("--seconds", type=positive, default=20)
    p.add_argument("--mailbox-size", type=positive, default=300,
                   help="ratchet --mailbox-size and imaptest msgs= (default 300)")
    p.add_argument("--seed", type=positive, default=1)
    p.add_argument("--json", action="store_true",
                   help="print one JSON object instead of the table")
    a = p.parse_args(argv)
    if not a.imaptest:
        raise Failed(2, "no imaptest: give --imaptest PATH or set "
                     "$RATCHET_IMAPTEST (README, Benchmarks: how to build it)")
    for name in ("imaptest", "ratchet"):
        path = getattr(a, name)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise Failed(2, f"{name} {path!r} is missing or not executable")
    return a


def positive(text):
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return n


def write_mbox(path, count=MBOX_MESSAGES):
    """Small messages shaped like the ones ratchet APPENDs
    (model/vocabulary/message.c), so that both tools move about as many
    bytes."""
    with open(path, "w") as f:
        for i in range(1, count + 1):
            mid = f"imaptest-{i}"
            f.write("From ratchet@example.invalid Sat Jan  1 00:00:00 2000\n"
                    f"X-Ratchet-Id: {mid}\n"
                    "From: ratchet <ratchet@example.invalid>\n"
                    "To: ratchet <ratchet@example.invalid>\n"
                    f"Subject: ratchet {mid}\n"
                    f"Message-ID: <{mid}@ratchet.invalid>\n"
                    "Date: Sat, 01 Jan 2000 00:00:00 +0000\n\n"
                    f"ratchet message {mid}\n\n")


# ---- CPU ----

def proc_ticks(pid):
    """(ppid, CPU ticks of pid and of its children it reaped), or None
    once it is gone. Counting the reaped children keeps the CPU of an imap
    process that exits during a round: Dovecot's master waits for it."""
    try:
        text = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # After "pid (comm) ": state ppid ... utime stime cutime cstime are
    # fields 3, 4, 14-17 of proc(5); comm may hold spaces and parentheses.
    f = text[text.rindex(")") + 2:].split()
    return int(f[1]), sum(int(x) for x in f[11:15])


def tree_cpu_seconds(root):
    """CPU seconds of root and every live process below it."""
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            t = proc_ticks(int(name))
            if t is not None:
                table[int(name)] = t
    kids = {}
    for pid, (ppid, _) in table.items():
        kids.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += table.get(pid, (0, 0))[1]
        todo += kids.get(pid, [])
    return total / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def timed(srv, argv, timeout, **kw):
    """Runs argv to completion; (CompletedProcess, wall seconds, its CPU
    seconds, Dovecot's CPU seconds meanwhile)."""
    d0, c0, t0 = tree_cpu_seconds(srv.proc.pid), children_cpu_seconds(), time.monotonic()
    try:
        p = subprocess.run(argv, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        # Not str(e): argv holds the test server's passwords.
        raise Failed(3, f"{os.path.basename(argv[0])} did not finish in {timeout} s")
    wall = time.monotonic() - t0
    cpu = children_cpu_seconds() - c0
    return p, wall, cpu, tree_cpu_seconds(srv.proc.pid) - d0


def per_1000(seconds, commands):
    return 1e6 * seconds / commands if commands else 0.0


# ---- ratchet ----

def run_ratchet(a, srv, scratch):
    report = scratch / "ratchet.json"
    report.unlink(missing_ok=True)
    argv = [a.ratchet, "run", "--quiet", "--target", srv.url(RATCHET_USER),
            "--clients", str(a.clients), "--seconds", str(a.seconds),
            "--mailbox-size", str(a.mailbox_size), "--seed", str(a.seed),
            "--report", str(report)]
    p, wall, cpu, dovecot = timed(srv, argv, a.seconds + 120,
                                  capture_output=True, text=True)
    try:
        s = json.loads(report.read_text())["summary"]
    except (OSError, ValueError, KeyError):
        s = None
    if s is None or p.returncode not in (0, 1):
        raise Failed(2, f"ratchet run exited {p.returncode}: "
                     f"{last_line(p.stderr or p.stdout)}")
    ops = s["ops"]
    # The figure wire.dovecot.ops gives: the report's own ops per second.
    return {"commands": ops, "seconds": round(s["seconds"], 3),
            "wall_seconds": round(wall, 3),
            "cmds_per_s": s["ops_per_second"],
            "cpu_ms_per_1000": per_1000(cpu, ops),
            "dovecot_cpu_ms_per_1000": per_1000(dovecot, ops),
            "errors": s["errors"], "warnings": s["warnings"]}


def last_line(text):
    lines = [ln for ln in (text or "").splitlines() if ln.strip()]
    return lines[-1].strip()[:300] if lines else "(no output)"


# ---- imaptest ----

def parse_imaptest(text):
    """imaptest's output: ({short command name: count} from its "Totals:"
    table, number of "Error:" lines). The table is a header of names, one
    or two lines of percentages, then the counts; None when absent."""
    lines = text.splitlines()
    errors = sum(1 for ln in lines if ln.startswith("Error:"))
    try:
        start = len(lines) - 1 - lines[::-1].index("Totals:")
    except ValueError:
        return None, errors
    names = None
    for ln in lines[start + 1:]:
        words = ln.split()
        if names is None and words:
            names = words  # Logi List Stat Sele Fetc Fet2 ...
        elif names and len(words) == len(names) and all(w.isdigit() for w in words):
            return dict(zip(names, map(int, words))), errors
    return None, errors


def create_imaptest_box(srv):
    """imaptest works in its box= but never creates it."""
    m = imaplib.IMAP4("127.0.0.1", srv.port)
    try:
        m.login(IMAPTEST_USER, dict(servers.USERS)[IMAPTEST_USER])
        if m.create(IMAPTEST_BOX)[0] != "OK":
            raise Failed(2, f"cannot create {IMAPTEST_BOX} on the test server")
    finally:
        m.logout()


def run_imaptest(a, srv, mbox, scratch):
    out = scratch / "imaptest.out"
    create_imaptest_box(srv)
    argv = [a.imaptest, "host=127.0.0.1", f"port={srv.port}",
            f"user={IMAPTEST_USER}", f"pass={dict(servers.USERS)[IMAPTEST_USER]}",
            f"mbox={mbox}", f"box={IMAPTEST_BOX}", f"clients={a.clients}",
            f"secs={a.seconds}", f"msgs={a.mailbox_size}", f"seed={a.seed}"]
    with open(out, "w") as f:
        # Its per-second table and every "Error:" line go to stdout, which
        # may be long: to a file, not a pipe.
        p, wall, cpu, dovecot = timed(srv, argv, a.seconds + 120, stdout=f,
                                      stderr=subprocess.STDOUT)
    text = out.read_text(errors="replace")
    totals, errors = parse_imaptest(text)
    if p.returncode != 0 or totals is None:
        raise Failed(2, f"imaptest exited {p.returncode}: {last_line(text)}")
    n = sum(totals.values())
    return {"commands": n, "wall_seconds": round(wall, 3),
            "cmds_per_s": n / wall if wall > 0 else 0.0,
            "cpu_ms_per_1000": per_1000(cpu, n),
            "dovecot_cpu_ms_per_1000": per_1000(dovecot, n),
            "errors": errors, "by_command": totals}


# ---- rounds and report ----

def one_round(a, mbox, scratch, i):
    """Round i (from 1): odd rounds start with ratchet, even ones with
    imaptest; each run on a Dovecot of its own."""
    order = ["ratchet", "imaptest"] if i % 2 else ["imaptest", "ratchet"]
    r = {"round": i, "first": order[0]}
    for tool in order:
        r[tool] = (on_server(run_ratchet, a, scratch) if tool == "ratchet"
                   else on_server(run_imaptest, a, mbox, scratch))
    it = r["imaptest"]["cmds_per_s"]
    r["ratio"] = r["ratchet"]["cmds_per_s"] / it if it else 0.0
    return r


def medians(rounds):
    """Each figure's median over the rounds; the ratio is the median of
    the rounds' ratios (each pairs two runs next to each other in time)."""
    def med(tool, key):
        return statistics.median(r[tool][key] for r in rounds)
    return {"ratchet_cmds_per_s": med("ratchet", "cmds_per_s"),
            "imaptest_cmds_per_s": med("imaptest", "cmds_per_s"),
            "ratio": statistics.median(r["ratio"] for r in rounds),
            "ratchet_cpu_ms_per_1000": med("ratchet", "cpu_ms_per_1000"),
            "imaptest_cpu_ms_per_1000": med("imaptest", "cpu_ms_per_1000"),
            "ratchet_dovecot_cpu_ms_per_1000": med("ratchet", "dovecot_cpu_ms_per_1000"),
            "imaptest_dovecot_cpu_ms_per_1000": med("imaptest", "dovecot_cpu_ms_per_1000")}


def table_line(label, ra, it, ratio):
    return (f"{label:<8} ratchet {ra['cmds_per_s']:7.0f} cmds/s, CPU "
            f"{ra['cpu_ms_per_1000']:4.0f} ms/1,000 (Dovecot "
            f"{ra['dovecot_cpu_ms_per_1000']:4.0f})  imaptest "
            f"{it['cmds_per_s']:7.0f} cmds/s, CPU {it['cpu_ms_per_1000']:4.0f} "
            f"ms/1,000 (Dovecot {it['dovecot_cpu_ms_per_1000']:4.0f})  "
            f"ratio {ratio:.2f}x")


def print_table(result):
    s = result["settings"]
    print(f"{s['server']}, {s['clients']} clients, {s['seconds']} s, "
          f"mailbox size {s['mailbox_size']}, seed {s['seed']}")
    for r in result["rounds"]:
        notes = []
        if r["ratchet"]["errors"]:
            notes.append(f"ratchet: {r['ratchet']['errors']} violations")
        if r["imaptest"]["errors"]:
            notes.append(f"imaptest: {r['imaptest']['errors']} Error: lines")
        line = table_line(f"round {r['round']}", r["ratchet"], r["imaptest"], r["ratio"])
        print(line + (f"  [{'; '.join(notes)}]" if notes else ""))
    m = result["median"]
    print(table_line("median", *[{"cmds_per_s": m[f"{t}_cmds_per_s"],
                                  "cpu_ms_per_1000": m[f"{t}_cpu_ms_per_1000"],
                                  "dovecot_cpu_ms_per_1000":
                                  m[f"{t}_dovecot_cpu_ms_per_1000"]}
                                 for t in ("ratchet", "imaptest")], m["ratio"]))


def on_server(run, a, *args):
    """run(a, srv, *args) on a fresh Dovecot, stopped by PID afterwards.
    An interruption while it starts or stops waits until that is done
    (see interrupted): a server is never left running."""
    srv = None
    try:
        with held():
            try:
                srv = servers.start_dovecot("mdbox")
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                raise Failed(2, last_line(str(e)) or "Dovecot did not start")
        return run(a, srv, *args)
    finally:
        if srv is not None:
            with held():
                srv.stop()


def compare(a):
    why = servers.install("dovecot")
    if why:
        raise Failed(2, f"Dovecot is not installed: {last_line(why)}")
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="ratchet-vs-imaptest-", dir="/tmp"))
    try:
        mbox = scratch / "messages.mbox"
        write_mbox(mbox)
        rounds = [one_round(a, mbox, scratch, i) for i in range(1, a.rounds + 1)]
    finally:
        for f in scratch.iterdir():
            f.unlink()
        scratch.rmdir()
    return {"settings": {"server": "Dovecot mdbox, a fresh one per run", "clients": a.clients,
                         "seconds": a.seconds, "mailbox_size": a.mailbox_size,
                         "seed": a.seed, "rounds": a.rounds,
                         "ratchet": a.ratchet, "imaptest": a.imaptest},
            "rounds": rounds, "median": medians(rounds)}


# SIGTERM or SIGINT while held() is kept for its end. Not a blocked signal
# mask: Dovecot, started meanwhile, would inherit it and ignore the SIGTERM
# that stops it.
INTERRUPT = {"hold": 0, "signal": 0}


def interrupted(signum, frame):
    INTERRUPT["signal"] = signum
    if not INTERRUPT["hold"]:
        raise Failed(3, f"interrupted by signal {signum}")


@contextlib.contextmanager
def held():
    INTERRUPT["hold"] += 1
    try:
        yield
    finally:
        INTERRUPT["hold"] -= 1
    if INTERRUPT["signal"] and not INTERRUPT["hold"]:
        raise Failed(3, f"interrupted by signal {INTERRUPT['signal']}")


def main(argv):
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    try:
        a = parse_args(argv)
        result = compare(a)
    except Failed as e:
        print(f"wire_vs_imaptest: {e}", file=sys.stderr)
        return e.code
    except (OSError, imaplib.IMAP4.error) as e:
        print(f"wire_vs_imaptest: {last_line(str(e))}", file=sys.stderr)
        return 3
    if a.json:
        print(json.dumps(result, indent=1))
    else:
        print_table(result)
    bad = [r["round"] for r in result["rounds"] if r["ratchet"]["errors"]]
    if bad:
        print(f"wire_vs_imaptest: ratchet reported violations in round(s) "
              f"{', '.join(map(str, bad))}: its figures there are no measure",
              file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
