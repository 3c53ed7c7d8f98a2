"""The exploration's reduction (docs/explore.md) against plain bounded
enumeration: on generated scenarios, with and without mutants, skipping the
calls no other client can observe and the branches sleep sets show
redundant must reach the same bound, the same end states and the same
verdicts as preempting before every call and running every branch
(`--plain`). Three families: 50 two-client scenarios at bound 1; two
parties with one op each at bound 2, where a pruned schedule's equivalent
could need a preemption more; three parties at bound 1, where a sleeping
client is not the one the node would preempt (a sleep with penalty); and
two clients with faults (a crash, maybe losing the log, or a kill) at
bound 1, where a fault wakes every sleeper."""
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
# One op without a SELECT before it: two of them at bound 2 stay small.
SHORT = [
    "APPEND INBOX (\\Seen)",
    "APPEND Archive",
    "STATUS INBOX (MESSAGES UIDNEXT)",
    "STATUS Archive (MESSAGES)",
    "DELIVER INBOX",
    "DELIVER Archive",
]
MUTANTS = [None, None, "flags-last-writer", "move-rename", "copy-visible-early",
           "deliver-nolock", "unchangedsince-stale"]
SCENARIOS = 50
SHORT_SCENARIOS = 12
THREE_SCENARIOS = 12
FAULT_SCENARIOS = 12
FAULTS = ["crash: 1", "crash: 1\nlose-log: INBOX", "kill: A", "kill: A B"]
FAULT_MUTANTS = [None, "deliver-unsynced", "modseq-reset", "deliver-sync-late",
                 "flags-last-writer"]
HEAD = ["mailboxes: INBOX Archive", "message: INBOX \\Flagged", "message: INBOX"]


def scenario(i):
    rng = random.Random(1000 + i)
    lines = [f"scenario: gen-{i}"] + HEAD
    for name in ("A", "B"):
        lines.append(f"client {name}:")
        lines.append("  SELECT INBOX (CONDSTORE)")
        lines += ["  " + rng.choice(STEPS) for _ in range(rng.randint(1, 2))]
    return "\n".join(lines) + "\n", MUTANTS[i % len(MUTANTS)]


def party(name, step):
    """A client (or, for a DELIVER, a delivery agent) with one op."""
    if step.startswith("DELIVER"):
        return [f"agent {name}:", "  " + step]
    return [f"client {name}:", "  " + step]


def ordered(parties):
    """Agents come after the IMAP clients in a scenario."""
    return [p for p in parties if p[0].startswith("client")] + \
           [p for p in parties if p[0].startswith("agent")]


def short_scenario(i):
    rng = random.Random(2000 + i)
    lines = [f"scenario: short-{i}"] + HEAD
    for p in ordered([party(n, rng.choice(SHORT)) for n in ("A", "B")]):
        lines += p
    return "\n".join(lines) + "\n", MUTANTS[i % len(MUTANTS)]


def three_scenario(i):
    rng = random.Random(3000 + i)
    lines = [f"scenario: three-{i}"] + HEAD
    parties = [["client A:", "  SELECT INBOX (CONDSTORE)", "  " + rng.choice(STEPS)]]
    parties += [party(n, rng.choice(SHORT)) for n in ("B", "C")]
    for p in ordered(parties):
        lines += p
    return "\n".join(lines) + "\n", MUTANTS[i % len(MUTANTS)]


def fault_scenario(i):
    rng = random.Random(4000 + i)
    lines = [f"scenario: fault-{i}", FAULTS[i % len(FAULTS)]] + HEAD
    for name in ("A", "B"):
        lines += [f"client {name}:", "  SELECT INBOX (CONDSTORE)",
                  "  " + rng.choice(STEPS)]
    return "\n".join(lines) + "\n", FAULT_MUTANTS[i % len(FAULT_MUTANTS)]


def explore(ratchet, tmp_path, f, mutant, plain, bound):
    out = tmp_path / ("plain.json" if plain else "reduced.json")
    args = [ratchet, "explore", str(f), "--bound", str(bound), "--quiet",
            "--report", str(out)]
    if mutant:
        args += ["--mutant", mutant]
    if plain:
        args.append("--plain")
    p = run(args, cwd=tmp_path, timeout=600)
    assert p.returncode in (0, 1), p.stdout + p.stderr
    return json.loads(out.read_text())["scenarios"][0]


def same_outcome(ratchet, tmp_path, text, mutant, bound):
    f = tmp_path / "gen.scn"
    f.write_text(text)
    a = explore(ratchet, tmp_path, f, mutant, plain=False, bound=bound)
    b = explore(ratchet, tmp_path, f, mutant, plain=True, bound=bound)
    assert b["points_skipped"] == 0 and b["reduction"] == "none"
    assert sum(b["pruned"].values()) == 0, b
    assert a["reduction"] == "invisible-calls+sleep-sets", a
    for k in ("covered", "complete", "states", "states_digest", "failing_invariants"):
        assert a[k] == b[k], (k, a, b, text, mutant)
    assert a["runs"] <= b["runs"], (a, b)
    return a, b


# The generated families: how each scenario is made, how many, the bound.
FAMILIES = {
    "two-clients": (scenario, SCENARIOS, 1),
    "two-parties-bound-two": (short_scenario, SHORT_SCENARIOS, 2),
    "three-parties": (three_scenario, THREE_SCENARIOS, 1),
    "faults": (fault_scenario, FAULT_SCENARIOS, 1),
}


@pytest.mark.parametrize("family,i", [(f, i) for f, (_, n, _) in FAMILIES.items()
                                      for i in range(n)])
def test_reduction_keeps_states_and_verdicts(ratchet, tmp_path, family, i):
    make, _, bound = FAMILIES[family]
    text, mutant = make(i)
    same_outcome(ratchet, tmp_path, text, mutant, bound)


def test_the_reduction_prunes_and_says_so(ratchet, tmp_path):
    """Not a reduction in name only: on a STORE racing a delivery at bound
    2, at most 2/3 of plain enumeration's runs (some 3,800 of 8,000), and
    the runs that turned redundant midway counted per bound."""
    text = "\n".join(["scenario: prune"] + HEAD[:2] + [
        "client A:", "  SELECT INBOX", "  UID STORE 1 +FLAGS (\\Seen)",
        "agent D:", "  DELIVER INBOX"]) + "\n"
    a, b = same_outcome(ratchet, tmp_path, text, None, 2)
    assert 3 * a["runs"] < 2 * b["runs"], (a["runs"], b["runs"])
    assert set(a["by_bound"]) == {"0", "1", "2"}, a
    assert sum(a["pruned"].values()) > 0, a
    for k, v in a["by_bound"].items():
        assert v["schedules"] == a["schedules"][k] and v["pruned"] == a["pruned"][k]
