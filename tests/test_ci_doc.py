"""docs/ci.md: the script its CI jobs call (the code block marked
"ci-test"), run against ratchet-imapd on 127.0.0.1 as the jobs run it
against their service container: a correct store exits 0, a mutant the
catalogue catches exits 1, a port nobody answers exits 2, with the
artifacts the doc lists; and the two CI configurations (YAML) call that
script and keep those artifacts whatever the outcome."""
import json
import os
import pathlib
import re
import socket
import subprocess
import xml.etree.ElementTree as ET

import pytest
import yaml

from conftest import ROOT, run
from test_imapd import PASSWORD, USER, Server

DOC = ROOT / "docs" / "ci.md"
MARK = "<!-- ci-test"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```\n", re.MULTILINE | re.DOTALL)


def blocks(lang):
    text = DOC.read_text()
    return [(m.group(2), text.rfind(MARK, 0, m.start()) > text.rfind("```", 0, m.start()))
            for m in BLOCK.finditer(text) if m.group(1) == lang]


def script():
    marked = [body for body, is_marked in blocks("bash") if is_marked]
    assert len(marked) == 1, "docs/ci.md marks one script for this test"
    return marked[0]


def run_script(tmp_path, ratchet, port, **env):
    path = tmp_path / "ratchet.sh"
    path.write_text(script())
    out = tmp_path / "out"
    environ = {**os.environ, "PATH": f"{pathlib.Path(ratchet).resolve().parent}:{os.environ['PATH']}",
               "RATCHET_TARGET": f"imap://{USER}:{PASSWORD}@127.0.0.1:{port}",
               "RATCHET_OUT": str(out), **env}
    p = subprocess.run(["bash", str(path)], cwd=tmp_path, env=environ, capture_output=True,
                       text=True, timeout=600)
    return p, out


def test_clean_server_exits_0_with_the_artifacts(ratchet, imapd, tmp_path):
    s = Server(imapd)
    try:
        p, out = run_script(tmp_path, ratchet, s.port, RATCHET_SEED="3", RATCHET_OPS="300",
                            RATCHET_SCENARIOS="move-vs-fetch")
    finally:
        assert s.stop() == 0
    assert p.returncode == 0, p.stdout + p.stderr
    assert "run exited 0, explore exited 0" in p.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["violations"] == [] and str(report["summary"]["seed"]) == "3"
    assert ET.parse(out / "junit.xml").getroot().iter("testcase")
    assert (out / "history.jsonl").stat().st_size > 0
    explored = json.loads((out / "explore.json").read_text())["scenarios"]
    assert len(explored) == 1, explored
    # The password is a CI secret: in no output and no artifact.
    assert PASSWORD not in p.stdout + p.stderr
    for f in out.iterdir():
        assert PASSWORD.encode() not in f.read_bytes(), f


def test_mutant_exits_1_and_keeps_the_reports(ratchet, imapd, tmp_path):
    s = Server(imapd, "--mutant", "flags-last-writer")
    try:
        p, out = run_script(tmp_path, ratchet, s.port, RATCHET_OPS="200",
                            RATCHET_SCENARIOS="flags-add-vs-remove")
    finally:
        assert s.stop() == 0
    assert p.returncode == 1, p.stdout + p.stderr
    assert "explore exited 1" in p.stdout
    for name in ("report.json", "junit.xml", "history.jsonl", "explore.json"):
        assert (out / name).is_file(), name
    replays = list(out.glob("ratchet-explore-flags-add-vs-remove*.replay.json"))
    assert replays, sorted(f.name for f in out.iterdir())


def test_no_server_exits_2(ratchet, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on port now; one look for it, then ratchet's verdict.
    p, _ = run_script(tmp_path, ratchet, port, RATCHET_WAIT="1", RATCHET_OPS="10",
                      RATCHET_SCENARIOS="move-vs-fetch")
    assert p.returncode == 2, p.stdout + p.stderr
    assert "run exited 2, explore exited 2" in p.stdout


def test_ci_configurations_call_the_script_and_keep_the_artifacts():
    configs = [yaml.safe_load(body) for body, _ in blocks("yaml")]
    assert len(configs) == 2, "one GitHub Actions workflow, one .gitlab-ci.yml"
    github, gitlab = configs
    job = github["jobs"]["ratchet"]
    assert job["services"], "the server under test as a service container"
    assert job["env"]["RATCHET_TARGET"].startswith("imap://")
    runs = [s.get("run", "") for s in job["steps"]]
    assert "bash ci/ratchet.sh" in runs
    upload = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    assert len(upload) == 1 and upload[0]["if"] == "always()"
    assert upload[0]["with"]["path"].rstrip("/") == job["env"]["RATCHET_OUT"]
    job = gitlab["ratchet"]
    assert job["services"] and job["variables"]["RATCHET_TARGET"].startswith("imap://")
    assert job["script"] == ["bash ci/ratchet.sh"]
    out = job["variables"]["RATCHET_OUT"]
    assert job["artifacts"]["when"] == "always"
    assert [p.rstrip("/") for p in job["artifacts"]["paths"]] == [out]
    assert job["artifacts"]["reports"]["junit"] == f"{out}/junit.xml"
