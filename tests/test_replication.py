"""The replicated reference store in the simulator (docs/replication.md):
a campaign of replicated runs is clean, with partitions, crashes, syncs
and fix-ups really happening and every REPL-* check judged; a replication
mutant's failure replays from its shrunk file; --replicas is checked."""
import json

import pytest

from conftest import run

REPL_IDS = {"REPL-CONVERGE", "REPL-UID-FIXUP", "REPL-FLAGS-MERGE", "REPL-NO-RESURRECT"}


def campaign(ratchet, tmp_path, *args):
    report = tmp_path / "report.json"
    p = run([ratchet, "run", "--quiet", "--replicas", "2", "--report", str(report),
             *args], cwd=tmp_path)
    return p, json.loads(report.read_text())


def test_replicated_campaign_is_clean(ratchet, tmp_path):
    p, r = campaign(ratchet, tmp_path, "--runs", "24", "--seed", "20261203")
    assert p.returncode == 0, p.stdout + p.stderr
    s = r["summary"]
    rep = s["replication"]
    assert rep["runs"] == s["runs"] == 24
    # What the runs were made of, or the sweep proves nothing.
    assert rep["syncs"] > 500 and rep["partitions"] > 20, rep
    assert rep["fixups"] > 100 and rep["conflicts"] > 0, rep
    assert s["faults_injected"]["crash"] > 20, s["faults_injected"]
    assert not REPL_IDS & set(s["checks_skipped"]), s["checks_skipped"]
    assert "replication:" in run([ratchet, "run", "--replicas", "2", "--runs", "1",
                                  "--seed", "3"], cwd=tmp_path).stdout


def test_unreplicated_runs_skip_the_replication_checks(ratchet, tmp_path):
    report = tmp_path / "report.json"
    p = run([ratchet, "run", "--quiet", "--replicas", "1", "--runs", "2", "--seed", "5",
             "--report", str(report)], cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    s = json.loads(report.read_text())["summary"]
    assert REPL_IDS <= set(s["checks_skipped"])
    assert "replication" not in s


@pytest.mark.parametrize("mutant,ids", [
    ("repl-final-flags", {"REPL-FLAGS-MERGE", "REPL-CONVERGE"}),
    ("repl-no-step", {"REPL-UID-FIXUP"}),
])
def test_mutant_replays_from_its_shrunk_file(ratchet, tmp_path, mutant, ids):
    p, r = campaign(ratchet, tmp_path, "--mutant", mutant, "--seed", "1",
                    "--runs", "40", "--shrink-seconds", "20")
    assert p.returncode == 1, p.stdout + p.stderr
    found = {v["invariant"] for v in r["violations"] if v["severity"] == "error"}
    assert found & ids, found
    shrunk = r["summary"]["shrunk"]
    assert shrunk["minimal_ops"] < shrunk["original_ops"]
    replay = json.loads((tmp_path / shrunk["replay"]).read_text())
    assert replay["replicas"] == 2
    q = run([ratchet, "replay", shrunk["replay"]], cwd=tmp_path)
    assert q.returncode == 1, q.stdout + q.stderr
    assert any(i in q.stdout for i in ids), q.stdout


@pytest.mark.parametrize("value", ["0", "3", "x"])
def test_replicas_out_of_range_is_one_line_exit_2(ratchet, tmp_path, value):
    p = run([ratchet, "run", "--replicas", value], cwd=tmp_path)
    assert p.returncode == 2
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "--replicas" in p.stderr
