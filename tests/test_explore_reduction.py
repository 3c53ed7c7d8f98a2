"""The exploration's reduction (docs/explore.md) against plain bounded
enumeration: on generated scenarios, with and without mutants, skipping the
calls no other client can observe must reach the same end states and the
same verdicts as preempting before every call (`--plain`)."""
import json
import random

import pytest

from conftest import run

STEPS = [
    "UID STORE 1 +FLAGS (\\Seen)",
    "UID STORE 1 -FLAGS (\\Flagged)",
    "UID STORE 2 FLAGS (\\Answered)",
    "UID STORE 1 +FLAGS (\\Deleted)",
    "UID FETCH 1:* (FLAGS)",
    "UID COPY 1 Archive",
    "UID MOVE 2 Archive",
    "APPEND INBOX (\\Seen)",
    "EXPUNGE",
    "NOOP",
    "STATUS INBOX (MESSAGES UIDNEXT)",
    "UID FETCH 1 (MODSEQ) => $m",
    "UID STORE 1 (UNCHANGEDSINCE $m) FLAGS (\\Draft)",
]
MUTANTS = [None, None, "flags-last-writer", "move-rename", "copy-visible-early",
           "deliver-nolock", "unchangedsince-stale"]
SCENARIOS = 50


def scenario(i):
    rng = random.Random(1000 + i)
    lines = [f"scenario: gen-{i}", "mailboxes: INBOX Archive",
             "message: INBOX \\Flagged", "message: INBOX"]
    for name in ("A", "B"):
        lines.append(f"client {name}:")
        lines.append("  SELECT INBOX (CONDSTORE)")
        lines += ["  " + rng.choice(STEPS) for _ in range(rng.randint(1, 2))]
    return "\n".join(lines) + "\n", MUTANTS[i % len(MUTANTS)]


def explore(ratchet, tmp_path, f, mutant, plain):
    out = tmp_path / ("plain.json" if plain else "reduced.json")
    args = [ratchet, "explore", str(f), "--bound", "1", "--quiet", "--report", str(out)]
    if mutant:
        args += ["--mutant", mutant]
    if plain:
        args.append("--plain")
    p = run(args, cwd=tmp_path, timeout=600)
    assert p.returncode in (0, 1), p.stdout + p.stderr
    return json.loads(out.read_text())["scenarios"][0]


@pytest.mark.parametrize("i", range(SCENARIOS))
def test_reduction_keeps_states_and_verdicts(ratchet, tmp_path, i):
    text, mutant = scenario(i)
    f = tmp_path / f"gen-{i}.scn"
    f.write_text(text)
    a = explore(ratchet, tmp_path, f, mutant, plain=False)
    b = explore(ratchet, tmp_path, f, mutant, plain=True)
    assert b["points_skipped"] == 0 and b["reduction"] == "none"
    for k in ("covered", "complete", "states", "states_digest", "failing_invariants"):
        assert a[k] == b[k], (k, a, b, text, mutant)
    assert a["runs"] <= b["runs"], (a, b)
