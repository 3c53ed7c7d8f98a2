"""Every reference-store mutant is caught by the default campaign (no
hand-picked seed) with a violation of the family its seed predicts."""
import json

import pytest

from conftest import run

# The families (docs/invariants.md sections) a mutant must show up in.
EXPECTED = {
    # design.md#copy-move: MOVE by rename() loses or duplicates messages, and lock-free
    # readers find files gone from under the log (STORE-LOCK-FREE-READ)
    "move-rename": {"G", "H"},
    # design.md#delivery: a UID chosen without the lock is given twice
    "deliver-nolock": {"A", "G"},
    # design.md#modseq: UNCHANGEDSINCE checked against state read before the lock
    "unchangedsince-stale": {"E"},
    # design.md#modseq: a rebuild that restarts modseqs
    "modseq-reset": {"D", "H"},
    # design.md#flags: flags replicated as final states lose concurrent updates
    "flags-last-writer": {"C"},
    # design.md#copy-move: a COPY visible before its UIDs are assigned
    "copy-visible-early": {"G", "H"},
    # design.md#delivery: a delivery acknowledged before new/ is fsynced; a crash
    # takes the message, so a later fresh read lacks an acknowledged add
    # (ADD-NO-LOSS, G)
    "deliver-unsynced": {"G"},
}


@pytest.mark.parametrize("mutant", sorted(EXPECTED))
def test_mutant_is_caught(ratchet, tmp_path, mutant):
    report = tmp_path / "report.json"
    junit = tmp_path / "junit.xml"
    p = run([ratchet, "run", "--quiet", "--mutant", mutant, "--seconds", "120",
             "--shrink-seconds", "5", "--report", str(report),
             "--junit", str(junit)], cwd=tmp_path)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "ratchet replay" in p.stdout
    r = json.loads(report.read_text())
    families = {v["family"].split(".")[0] for v in r["violations"] if v["severity"] == "error"}
    assert families & EXPECTED[mutant], (mutant, families, p.stdout)
    assert r["summary"]["mutant"] == mutant
    shrunk = r["summary"].get("shrunk")
    assert shrunk is None or shrunk["minimal_ops"] <= shrunk["original_ops"]
    # The replay file it printed reproduces the failure.
    replay = r["summary"]["replay"]
    q = run([ratchet, "replay", replay], cwd=tmp_path)
    assert q.returncode == 1, q.stdout + q.stderr
