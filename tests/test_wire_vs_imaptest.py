"""scripts/wire_vs_imaptest.py's plumbing, without imaptest: its set-up
errors, its reading of imaptest's output, and whole rounds against a real
Dovecot with a stand-in "imaptest" that prints a fixed table. What the
figures are, never how fast: no timed assertions."""
import importlib.util
import json
import os
import stat
import subprocess
import sys

import pytest

from conftest import ROOT

SCRIPT = ROOT / "scripts" / "wire_vs_imaptest.py"
sys.path.insert(0, str(ROOT / "scripts" / "servers"))
import servers  # noqa: E402

# What imaptest 2.3 prints (stdout not a terminal), shortened: the header
# every ten seconds, a line of counts per second, then the totals.
SAMPLE = """\
Error: bob[3]: SELECT failed: 3.2 NO Mailbox doesn't exist: imaptest
Logi List Stat Sele Fetc Fet2 Stor Dele Expu Appe Logo
100%  50%  50% 100% 100% 100%  50% 100% 100% 100% 100%
                          30%                  5%
 266  135  136  265  256  367  104  128  252  190  256  10/ 10
   3    7    7    6   12   12   15   18   19   31    6 ms/cmd avg

Totals:
Logi List Stat Sele Fetc Fet2 Stor Dele Expu Appe Logo
100%  50%  50% 100% 100% 100%  50% 100% 100% 100% 100%
                          30%                  5%
1021  533  500 1020 1012 1453  383  545 1012  754 1021
"""
SAMPLE_TOTAL = 1021 + 533 + 500 + 1020 + 1012 + 1453 + 383 + 545 + 1012 + 754 + 1021

# The stand-in: records its arguments and the mbox's first line, then
# prints SAMPLE; exit status from FAKE_STATUS.
FAKE = """#!/usr/bin/python3
import os, sys
args = dict(a.split("=", 1) for a in sys.argv[1:] if "=" in a)
with open(os.environ["FAKE_LOG"], "a") as log:
    with open(args["mbox"]) as mbox:
        log.write(" ".join(sys.argv[1:]) + " | " + mbox.readline())
sys.stdout.write(os.environ["FAKE_OUTPUT"])
sys.exit(int(os.environ.get("FAKE_STATUS", "0")))
"""


def script(args, timeout=300, **env):
    """Runs the script with env added to ours, less $RATCHET_IMAPTEST
    unless given."""
    full = {k: v for k, v in os.environ.items() if k != "RATCHET_IMAPTEST"}
    full.update(env)
    return subprocess.run(["/usr/bin/python3", str(SCRIPT), *args], cwd=ROOT,
                          capture_output=True, text=True, env=full,
                          timeout=timeout)


def one_line_error(p, code, *words):
    assert p.returncode == code, p.stdout + p.stderr
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    for w in words:
        assert w in lines[0]


def test_no_imaptest_path():
    one_line_error(script([]), 2, "imaptest", "RATCHET_IMAPTEST")


@pytest.mark.parametrize("what", ["missing", "not executable"])
def test_imaptest_not_runnable(tmp_path, what):
    path = tmp_path / "imaptest"
    if what == "not executable":
        path.write_text("#!/bin/sh\n")
    one_line_error(script(["--imaptest", str(path)]), 2, str(path), what)
    # $RATCHET_IMAPTEST is the same as --imaptest.
    one_line_error(script([], RATCHET_IMAPTEST=str(path)), 2, str(path))


def test_bad_option_one_line(tmp_path):
    one_line_error(script(["--rounds", "0"]), 2, "--rounds")
    one_line_error(script(["--no-such-option"]), 2, "--no-such-option")


def load_script():
    spec = importlib.util.spec_from_file_location("wire_vs_imaptest", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_parse_imaptest_output():
    parse = load_script().parse_imaptest
    totals, errors = parse(SAMPLE)
    assert errors == 1
    assert list(totals)[:3] == ["Logi", "List", "Stat"]
    assert totals["Fet2"] == 1453 and sum(totals.values()) == SAMPLE_TOTAL
    # No totals (a run cut short): nothing to count.
    assert parse(SAMPLE.split("Totals:")[0]) == (None, 1)
    assert parse("") == (None, 0)


def fake_imaptest(tmp_path):
    path = tmp_path / "imaptest"
    path.write_text(FAKE)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture(scope="module")
def have_dovecot():
    why = servers.install("dovecot")
    if why and os.getuid() == 0:
        pytest.fail(f"cannot install dovecot: {why}")
    if why:
        pytest.skip(f"dovecot is not installed and we are not root: {why}")


def test_rounds_with_a_stand_in(ratchet, tmp_path, have_dovecot):
    log = tmp_path / "calls.log"
    p = script(["--imaptest", fake_imaptest(tmp_path), "--ratchet", ratchet,
                "--rounds", "2", "--clients", "3", "--seconds", "1",
                "--mailbox-size", "30", "--seed", "5", "--json"],
               FAKE_LOG=str(log), FAKE_OUTPUT=SAMPLE)
    assert p.returncode == 0, p.stdout + p.stderr
    r = json.loads(p.stdout)
    assert r["settings"]["mailbox_size"] == 30
    assert [x["first"] for x in r["rounds"]] == ["ratchet", "imaptest"]
    for x in r["rounds"]:
        it, ra = x["imaptest"], x["ratchet"]
        assert it["commands"] == SAMPLE_TOTAL and it["errors"] == 1
        assert ra["commands"] > 0 and ra["errors"] == 0
        assert x["ratio"] == pytest.approx(ra["cmds_per_s"] / it["cmds_per_s"])
        assert ra["cpu_ms_per_1000"] > 0 and ra["dovecot_cpu_ms_per_1000"] > 0
    assert set(r["median"]) >= {"ratio", "ratchet_cmds_per_s", "imaptest_cmds_per_s"}
    calls = log.read_text().splitlines()
    assert len(calls) == 2
    for call in calls:
        # Same clients, seconds and mailbox size as ratchet; bob's own box;
        # an mbox of messages shaped like ratchet's.
        for arg in ("clients=3", "secs=1", "msgs=30", "seed=5", "user=bob",
                    "box=imaptest", "host=127.0.0.1"):
            assert arg in call.split(" | ")[0].split(), call
        assert call.split(" | ")[1].startswith("From ")


def test_imaptest_failing_is_one_line(ratchet, tmp_path, have_dovecot):
    p = script(["--imaptest", fake_imaptest(tmp_path), "--ratchet", ratchet,
                "--rounds", "1", "--clients", "2", "--seconds", "1"],
               FAKE_LOG=str(tmp_path / "calls.log"),
               FAKE_OUTPUT="Fatal: imaptest cannot go on\n", FAKE_STATUS="89")
    one_line_error(p, 2, "imaptest exited 89", "cannot go on")


def bench(ratchet, tmp_path, *args, **env):
    full = {k: v for k, v in os.environ.items() if k != "RATCHET_BENCH_IMAPTEST"}
    full.update(env)
    p = subprocess.run([ratchet, "bench", "--json", "--quick", "--only",
                        "wire.imaptest", *args], cwd=tmp_path, capture_output=True,
                       text=True, env=full, timeout=300)
    return p, {r["name"]: r for r in json.loads(p.stdout or '{"results": []}')["results"]}


def test_bench_without_imaptest_skips(ratchet, tmp_path):
    p, r = bench(ratchet, tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert r == {}
    assert "wire.imaptest.ratio" in p.stderr and "skipped" in p.stderr


def test_bench_figures_from_the_script(ratchet, tmp_path, have_dovecot):
    p, r = bench(ratchet, tmp_path, "--imaptest", fake_imaptest(tmp_path),
                 FAKE_LOG=str(tmp_path / "calls.log"), FAKE_OUTPUT=SAMPLE)
    assert p.returncode == 0, p.stdout + p.stderr
    assert set(r) == {"wire.imaptest.ratio", "wire.imaptest.ratchet.ops",
                      "wire.imaptest.imaptest.ops", "wire.imaptest.ratchet.cpu",
                      "wire.imaptest.imaptest.cpu"}
    ops = {k: r[f"wire.imaptest.{k}.ops"]["value"] for k in ("ratchet", "imaptest")}
    assert all(v > 0 for v in ops.values())
    # --quick: one round, so the median ratio is that round's ratio.
    assert r["wire.imaptest.ratio"]["value"] == pytest.approx(
        ops["ratchet"] / ops["imaptest"], rel=1e-4)
    assert r["wire.imaptest.ratio"]["unit"] == "x"
    # The ten clients of the wire figures, one round of 2 s.
    call = (tmp_path / "calls.log").read_text().splitlines()
    assert len(call) == 1 and "clients=10" in call[0] and "secs=2" in call[0]


def test_bench_script_failure_fails(ratchet, tmp_path, have_dovecot):
    p, r = bench(ratchet, tmp_path, "--imaptest", fake_imaptest(tmp_path),
                 FAKE_LOG=str(tmp_path / "calls.log"), FAKE_OUTPUT="", FAKE_STATUS="1")
    assert p.returncode != 0 and r == {}
    assert "imaptest exited 1" in p.stderr and "wire.imaptest" in p.stderr
