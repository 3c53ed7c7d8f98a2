"""Every reference-store mutant is caught: those of EXPECTED by the default
campaign (no hand-picked seed) with a violation of the family its seed
predicts, the subtle ones of SUBTLE by exploring a catalogue scenario
(tests/test_explore.py); and every mutant has a name, a section in
docs/design.md and, if subtle, a row in the scenario catalogue."""
import json
import re

import pytest

from conftest import ROOT, run

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
    # design.md#replication and #flags, the sync agent's naive designs
    # (replication.md): flags sent as final states, or removals as final
    # states, lose a concurrent change (REPL-FLAGS-MERGE, REPL-CONVERGE);
    # replicas sharing one UID sequence bind a UID twice (REPL-UID-FIXUP);
    # a UID the peer cannot take added there anyway, or a sync that
    # replays the whole log, show a UID out of order or back (each
    # replica's own A and B rules, REPL-NO-RESURRECT)
    "repl-final-flags": {"H"},
    "repl-mixed-records": {"H"},
    "repl-no-step": {"H"},
    "repl-rebind": {"A", "B", "H"},
    "repl-resurrect": {"A", "B", "H"},
}

# The subtle mutants: each is wrong only in a window of one or two
# file-system calls, so it needs a preemption at one exact call. For each,
# the catalogue scenario whose exploration catches it, the invariant it
# breaks there and the fewest preemptions that show it (scenarios/README.md).
# A default campaign catches them too (docs/design.md gives the seconds);
# tests/test_explore.py explores each and replays its failing schedule.
SUBTLE = {
    # design.md#flags: final flag states read lock-free just before the lock;
    # a -FLAGS committed in that window is lost to a +FLAGS of another flag
    "flags-read-unlocked": ("flags-add-vs-remove", "FLAGS-MERGE", 1),
    # design.md#copy-move: COPY links the source file only where it first saw
    # it; a \Recent claim that moves it to cur/ meanwhile fails the COPY
    "copy-link-once": ("copy-vs-claim", "STORE-LOCK-FREE-READ", 1),
    # design.md#delivery: the A record commits before the rename into new/;
    # a reader between the two finds a UID without its file
    "deliver-rename-late": ("deliver-vs-select", "STORE-LOCK-FREE-READ", 1),
    # design.md#copy-move: an expunge unlinks the files before its E record;
    # a reader between the two finds a UID without its file
    "expunge-unlink-first": ("expunge-vs-fetch", "STORE-LOCK-FREE-READ", 1),
    # design.md#delivery: new/ fsynced after the commit, not before the UID
    # line; only a crash at that one call (a fault, which counts as one)
    # leaves a committed UID without its file
    "deliver-sync-late": ("crash-in-deliver", "STORE-LOCK-FREE-READ", 1),
}


def test_every_mutant_is_named_documented_and_caught(ratchet, tmp_path):
    p = run([ratchet, "run", "--list-mutants"], cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    names = p.stdout.split()
    assert not set(EXPECTED) & set(SUBTLE)
    assert sorted(names) == sorted({*EXPECTED, *SUBTLE}), names
    design = (ROOT / "docs" / "design.md").read_text()
    catalogue = (ROOT / "scenarios" / "README.md").read_text()
    for name in names:
        assert re.search(rf"Mutant\s+\*\*`{re.escape(name)}`\*\*", design), name
    for name, (scenario, inv, preemptions) in SUBTLE.items():
        assert (ROOT / "scenarios" / f"{scenario}.scn").exists(), scenario
        row = [line for line in catalogue.splitlines()
               if line.startswith(f"| [{scenario}]({scenario}.scn) |")]
        assert len(row) == 1, scenario
        assert re.search(rf"`{re.escape(name)}` \({preemptions}\)", row[0]), row[0]
        assert inv in design, inv


@pytest.mark.parametrize("mutant", sorted(EXPECTED))
def test_mutant_is_caught(ratchet, tmp_path, mutant):
    report = tmp_path / "report.json"
    junit = tmp_path / "junit.xml"
    # A store mutant's family is its design's on one store: in a
    # replicated run the first finding may be the replicas disagreeing
    # (REPL-*, H) instead. The sync agent's mutants run as the default
    # campaign draws (one run in four replicated).
    one = [] if mutant.startswith("repl-") else ["--replicas", "1"]
    p = run([ratchet, "run", "--quiet", "--mutant", mutant, "--seconds", "120",
             "--shrink-seconds", "5", "--report", str(report),
             "--junit", str(junit), *one], cwd=tmp_path)
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
