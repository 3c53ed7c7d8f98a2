"""The command line: exit codes, reproducibility, reports, check, replay."""
import json
import pathlib
import xml.etree.ElementTree as ET

from conftest import ROOT, run


def test_bad_flag_is_one_line_exit_2(ratchet, tmp_path):
    for args in (["run", "--bogus"], ["run", "--clients", "0"],
                 ["run", "--seed", "x"], ["run", "--mutant", "nope"],
                 ["frobnicate"], ["check"], ["replay", "missing.json"]):
        p = run([ratchet, *args], cwd=tmp_path)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert p.stderr.strip(), args
        assert "Traceback" not in p.stderr and "Assertion" not in p.stderr


def test_same_seed_same_history(ratchet, tmp_path):
    outs = []
    for i in range(2):
        h = tmp_path / f"h{i}.jsonl"
        p = run([ratchet, "run", "--quiet", "--seed", "42", "--ops", "6000",
                 "--history", str(h)], cwd=tmp_path)
        assert p.returncode == 0, p.stdout + p.stderr
        assert p.stdout.startswith("ratchet: seed 42")
        outs.append(h.read_bytes())
    assert outs[0] == outs[1]
    assert len(outs[0]) > 10000


def test_clean_run_reports(ratchet, tmp_path):
    report, junit, hist = tmp_path / "r.json", tmp_path / "j.xml", tmp_path / "h.jsonl"
    p = run([ratchet, "run", "--quiet", "--seed", "7", "--ops", "8000",
             "--report", str(report), "--junit", str(junit),
             "--history", str(hist)], cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    r = json.loads(report.read_text())
    assert r["violations"] == []
    s = r["summary"]
    for key in ("seed", "ops", "clients", "seconds", "ops_per_second",
                "checks_skipped"):
        assert key in s, key
    assert s["seed"] == "7" and s["ops"] >= 8000
    suites = ET.parse(junit).getroot()
    cases = suites.findall(".//testcase")
    assert len(cases) >= 8 and not suites.findall(".//failure")
    # The standalone checker agrees with the online one.
    c = run([ratchet, "check", str(hist)], cwd=tmp_path)
    assert c.returncode == 0, c.stdout + c.stderr
    assert "no violations" in c.stdout


def test_check_finds_a_planted_violation(ratchet, tmp_path):
    h = tmp_path / "h.jsonl"
    lines = [
        {"ratchet_history": 1, "seed": 1, "target": "hand",
         "capabilities": ["UIDPLUS", "CONDSTORE"]},
        {"t": 1, "c": 1, "id": 1, "ev": "invoke", "op": {"kind": "connect"}},
        {"t": 2, "c": 1, "id": 1, "ev": "ok", "status": "OK"},
        {"t": 3, "c": 1, "id": 2, "ev": "invoke",
         "op": {"kind": "select", "mailbox": "INBOX"}},
        {"t": 4, "c": 1, "id": 2, "ev": "ok", "status": "OK", "untagged": [
            {"exists": 2}, {"code": {"name": "UIDVALIDITY", "value": 5}},
            {"code": {"name": "UIDNEXT", "value": 3}}]},
        {"t": 5, "c": 1, "id": 3, "ev": "invoke",
         "op": {"kind": "fetch", "uid": True, "set": "1:4294967295", "items": ["UID"]}},
        {"t": 6, "c": 1, "id": 3, "ev": "ok", "status": "OK", "untagged": [
            {"fetch": {"seq": 1, "uid": 2}}, {"fetch": {"seq": 2, "uid": 1}}]},
    ]
    h.write_text("".join(json.dumps(x) + "\n" for x in lines))
    p = run([ratchet, "check", str(h), "--report", str(tmp_path / "r.json")],
            cwd=tmp_path)
    assert p.returncode == 1, p.stdout + p.stderr
    r = json.loads((tmp_path / "r.json").read_text())
    assert any(v["invariant"] == "UID-ASCENDING" for v in r["violations"])


def test_check_rejects_garbage_cleanly(ratchet, tmp_path):
    h = tmp_path / "bad.jsonl"
    h.write_text('{"ratchet_history": 1}\n{"t": "x"\n')
    p = run([ratchet, "check", str(h)], cwd=tmp_path)
    assert p.returncode == 2
    assert len(p.stderr.strip().splitlines()) == 1


def shape_line(stdout):
    lines = [ln for ln in stdout.splitlines() if ln.startswith("  shape of run ")]
    assert len(lines) == 1, stdout
    return lines[0]


def test_failing_run_shape_in_banner_report_and_replays(ratchet, tmp_path):
    """A failing run's shape (every option it drew) is printed beside the
    replay commands, listed per run in the report, written into both replay
    files, and printed by `ratchet replay`; a replay file without it (as
    older ones are) replays the same, and no history carries it."""
    report = tmp_path / "r.json"
    p = run([ratchet, "run", "--quiet", "--seed", "7", "--ops", "8000", "--mutant",
             "move-rename", "--shrink-seconds", "2", "--report", str(report)],
            cwd=tmp_path)
    assert p.returncode == 1, p.stdout + p.stderr
    line = shape_line(p.stdout)
    assert line.startswith("  shape of run 0: clients "), line
    for part in (", ops 2000, mutants move-rename, switch ", ", crash ", ", kill ",
                 ", enospc ", ", rename-failure ", ", index-loss ", ", checkpoint every ",
                 ", log rotation at ", ", mix ", ", deleted ", ", boxes ", ", box target "):
        assert part in line, (part, line)
    s = json.loads(report.read_text())["summary"]
    for key in ("seed", "ops", "clients", "seconds", "ops_per_second", "interleavings",
                "faults_injected", "violations_by_id", "checks_skipped", "capabilities",
                "replay", "shrunk"):
        assert key in s, key
    assert [x["run"] for x in s["shapes"]] == list(range(s["runs"]))
    shape = s["shapes"][0]["shape"]
    assert shape["mutants"] == ["move-rename"] and shape["ops"] == 2000
    assert f"clients {shape['clients']}" in line
    assert set(shape["mix"]) == {"weights", "deleted_per_million", "boxes", "box_target"}
    for key in ("switch", "crash", "kill", "enospc", "rename_failure", "index_loss"):
        assert 0 <= shape[key + "_per_million"] <= 1000000, key
    assert json.loads(pathlib.Path(s["replay"]).read_text())["shape"] == shape
    minimal = pathlib.Path(s["shrunk"]["replay"])
    doc = json.loads(minimal.read_text())
    assert doc["shape"]["mutants"] == ["move-rename"]
    outs = []
    for name, d in (("with", doc), ("without", {k: v for k, v in doc.items() if k != "shape"})):
        f = tmp_path / f"{name}.replay.json"
        f.write_text(json.dumps(d))
        h = tmp_path / f"{name}.jsonl"
        q = run([ratchet, "replay", str(f), "--history", str(h)], cwd=tmp_path)
        assert q.returncode == 1, q.stdout + q.stderr
        outs.append((shape_line(q.stdout), h.read_bytes()))
    assert outs[0] == outs[1]
    assert outs[0][0].startswith(f"  shape of run 0: clients {doc['shape']['clients']}")
    assert b'"shape"' not in outs[0][1]


def test_single_run_prints_its_shape(ratchet, tmp_path):
    p = run([ratchet, "run", "--quiet", "--seed", "7", "--runs", "1"], cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert shape_line(p.stdout).startswith("  shape of run 0: clients ")
    p = run([ratchet, "run", "--quiet", "--seed", "7", "--runs", "2"], cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "shape of run" not in p.stdout  # clean campaigns: in the report only


def doc_invariants():
    """(family letter, ID) of every row of docs/invariants.md's tables, in
    order: the rows under a "## X. ..." heading whose table starts "| ID |"."""
    rows, family, in_table = [], None, False
    for line in (ROOT / "docs" / "invariants.md").read_text().splitlines():
        if line.startswith("## "):
            family, in_table = line[3:].split(".")[0], False
        elif line.startswith("| ID |"):
            in_table = True
        elif in_table and line.startswith("|") and not line.startswith("|---"):
            rows.append((family, line.split("|")[1].strip()))
        elif not line.startswith("|"):
            in_table = False
    return rows


def test_list_invariants_json_is_the_documented_catalogue(invariants):
    keys = {"id", "family", "severity", "derived", "rfc", "summary", "gated_by"}
    assert all(set(i) == keys for i in invariants), invariants[0]
    docs = doc_invariants()
    assert len(docs) == len({d[1] for d in docs}) > 40
    listed = [(i["family"].split(".")[0], i["id"]) for i in invariants]
    assert len(listed) == len({x[1] for x in listed})
    assert sorted(listed) == sorted(docs)
    for i in invariants:
        assert i["severity"] in ("error", "warning") and isinstance(i["derived"], bool)
        assert i["rfc"] and i["summary"] and "\n" not in i["summary"]


def test_list_invariants_text(ratchet, tmp_path, invariants):
    p = run([ratchet, "--list-invariants"], cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) == len(invariants)
    for line, i in zip(lines, invariants):
        assert line.split()[:3] == [i["id"], i["family"][0], i["severity"]], line
        assert line.endswith(i["summary"]), line
    p = run([ratchet, "--list-invariants", "--bogus"], cwd=tmp_path)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_gated_by_is_what_the_checker_skips(ratchet, tmp_path, invariants):
    """A check the catalogue gates by a capability is skipped exactly when
    the history's target lacks that capability."""
    every = ["UIDPLUS", "CONDSTORE", "QRESYNC", "MOVE"]

    def skipped(caps):
        h = tmp_path / "h.jsonl"
        h.write_text(json.dumps({"ratchet_history": 1, "seed": 1, "target": "hand",
                                 "capabilities": caps}) + "\n")
        r = tmp_path / "r.json"
        p = run([ratchet, "check", str(h), "--report", str(r)], cwd=tmp_path)
        assert p.returncode == 0, p.stdout + p.stderr
        return set(json.loads(r.read_text())["summary"]["checks_skipped"])

    base = skipped(every)
    assert not base & {i["id"] for i in invariants if i["gated_by"]}
    for cap in every:
        lacking = skipped([c for c in every if c != cap]) - base
        assert lacking == {i["id"] for i in invariants if i["gated_by"] == cap}, cap
