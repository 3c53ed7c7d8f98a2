"""`ratchet bench`'s wire figures: it starts ratchet-imapd itself and drives
it with `ratchet run --target` (what the figures are, not how fast they are:
timed assertions do not belong in tests)."""
import json

from conftest import run


def results(p):
    return {r["name"]: r for r in json.loads(p.stdout)["results"]}


def test_wire_refimapd_figures(ratchet, tmp_path):
    p = run([ratchet, "bench", "--json", "--quick", "--only", "wire",
             "--dir", str(tmp_path)], cwd=tmp_path, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    r = results(p)
    assert r["wire.refimapd.ops"]["unit"] == "ops/s"
    assert r["wire.refimapd.ops"]["value"] > 0
    assert 0 < r["wire.refimapd.harness_cpu"]["value"] <= 100
    # No Dovecot URL: that figure is skipped, and said so.
    assert "wire.dovecot.ops" not in r
    assert "wire.dovecot.ops" in p.stderr and "skipped" in p.stderr
    # The scratch root is removed.
    assert not list(tmp_path.glob("ratchet-bench-wire-*"))


def test_wire_dovecot_unreachable_fails(ratchet, tmp_path):
    p = run([ratchet, "bench", "--json", "--quick", "--only", "wire.dovecot",
             "--dovecot", "imap://a:b@127.0.0.1:1"], cwd=tmp_path, timeout=120)
    assert p.returncode != 0
    assert "wire.dovecot" in p.stderr and "b@" not in p.stderr
