"""Latency figures of a wire run: per command kind, the count and the p50,
p90, p99 and maximum milliseconds in the JSON summary and the text summary,
and `--progress-every S` lines (ratchet-imapd on 127.0.0.1)."""
import json
import re

from conftest import run
from test_imapd import PASSWORD, USER, Server

LINE = re.compile(r"^\[ *\d+\.\d+s\] +\d+ ops/s( [a-z]+ \d+)+  p50 \d+\.\d\d ms  "
                  r"p99 \d+\.\d\d ms  unknown \d+$")


def test_latency_figures_and_progress_lines(ratchet, imapd, tmp_path):
    s = Server(imapd)
    try:
        url = f"imap://{USER}:{PASSWORD.replace(' ', '%20')}@127.0.0.1:{s.port}"
        p = run([ratchet, "run", "--target", url, "--seconds", "3", "--seed", "5",
                 "--progress-every", "0.5", "--report", str(tmp_path / "r.json"),
                 "--history", str(tmp_path / "h.jsonl")], cwd=tmp_path, timeout=120)
    finally:
        s.stop()
    assert p.returncode == 0, p.stdout + p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.startswith("[")]
    assert len(lines) >= 3 and all(LINE.match(ln) for ln in lines), p.stderr
    r = json.loads((tmp_path / "r.json").read_text())
    lat = r["summary"]["latency"]
    assert {"select", "fetch", "store", "append"} <= set(lat), lat
    for kind, f in lat.items():
        assert f["count"] + f["unknown"] > 0, (kind, f)
        assert 0 <= f["p50_ms"] <= f["p90_ms"] <= f["p99_ms"] <= f["max_ms"], (kind, f)
    # Every recorded op of a client is timed once (checkpoint markers are
    # no commands).
    kinds = {}
    with open(tmp_path / "h.jsonl") as f:
        next(f)
        for line in f:
            e = json.loads(line)
            if e["ev"] == "invoke" and e["c"] != 0:
                kinds[e["op"]["kind"]] = kinds.get(e["op"]["kind"], 0) + 1
    assert {k: v["count"] + v["unknown"] for k, v in lat.items()} == kinds
    # The text summary shows the same table.
    assert re.search(r"latency \(ms\) +ops +p50 +p90 +p99 +max", p.stdout), p.stdout
