"""The command line: exit codes, reproducibility, reports, check, replay."""
import json
import xml.etree.ElementTree as ET

from conftest import run


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
