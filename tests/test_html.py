"""The HTML timeline (`--html`, README "The HTML timeline") in a real
browser: headless Chromium loads the page, and the DOM it built is
checked against the history the page draws and the violations the
report lists. Screenshots stay in pytest's tmp dir as artifacts."""
import html.parser
import json
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def browser(page, *args):
    """Chromium headless on page (a path): its stdout."""
    if CHROMIUM is None:
        pytest.fail("chromium is missing: scripts/deps.sh test installs it")
    p = subprocess.run([CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox",
                        "--no-first-run", *args, page.as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout


class Dom(html.parser.HTMLParser):
    """Every element of the DOM Chromium dumped: (tag, attrs, text)."""

    def __init__(self):
        super().__init__()
        self.elements = []
        self.open = []

    def handle_starttag(self, tag, attrs):
        el = [tag, dict(attrs), ""]
        self.elements.append(el)
        if tag not in ("meta", "br", "img", "link", "input"):
            self.open.append(el)

    def handle_endtag(self, tag):
        while self.open:
            if self.open.pop()[0] == tag:
                break

    def handle_data(self, data):
        for el in self.open:
            el[2] += data

    def by_class(self, cls):
        return [e for e in self.elements if cls in e[1].get("class", "").split()]

    def by_id(self, ident):
        found = [e for e in self.elements if e[1].get("id") == ident]
        assert len(found) <= 1, ident
        return found[0] if found else None


def load(page, tmp_path, shot):
    """The page's DOM after Chromium ran it, and its screenshot."""
    dom = Dom()
    dom.feed(browser(page, "--dump-dom"))
    png = tmp_path / shot
    browser(page, f"--screenshot={png}", "--window-size=1400,900")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return dom


def no_external_references(page, dom, hostile=False):
    """Nothing the page could fetch or run: in the file (unless it quotes a
    hostile history, whose text may say anything, escaped) and in the DOM."""
    text = page.read_text()
    for bad in ("http://", "https://", "@import", "url("):
        assert bad not in text, bad
    if not hostile:
        for bad in ("src=", "<link", "<script"):
            assert bad not in text, bad
    for tag, attrs, _ in dom.elements:
        assert tag not in ("script", "img", "iframe", "link", "object", "embed"), tag
        assert not {"src", "srcset", "action", "onerror", "onload"} & set(attrs), attrs
        assert attrs.get("href", "#").startswith("#"), attrs
        assert not any(a.startswith("on") for a in attrs), attrs


def clients_of(history):
    """The client numbers (>= 1) of the first run in a history file."""
    clients = set()
    for line in history.read_text().splitlines()[1:]:
        ev = json.loads(line)
        if "ratchet_history" in ev:
            break
        if ev["c"] > 0:
            clients.add(ev["c"])
    return clients


def check_page(dom, history, violations):
    """One lane per client of the history; the first violation's cited ops
    highlighted, naming it, with its note and the link to it."""
    lanes = dom.by_class("client")
    assert sorted(int(e[1]["data-client"]) for e in lanes) == sorted(clients_of(history))
    assert len(dom.by_class("annot")) == 1
    first = violations[0]
    note = dom.by_id("v0")
    assert note is not None and first["invariant"] in note[2]
    assert first["detail"][:40] in note[2]
    assert dom.by_id("jump")[1]["href"] == "#v0"
    assert first["events"], first
    for op in first["events"]:
        box = dom.by_id(f"op-{op}")
        assert box is not None, op
        assert "cited" in box[1]["class"].split()
        assert first["invariant"] in box[1]["data-violations"].split()
        assert box[1]["title"].startswith("client ")
    # Every op box has its hover text: the command and how it ended.
    ops = dom.by_class("op")
    assert ops and all(e[1].get("title") for e in ops)


def test_run_html_is_the_minimal_case(ratchet, tmp_path):
    page, report = tmp_path / "out.html", tmp_path / "r.json"
    p = run([ratchet, "run", "--quiet", "--mutant", "deliver-nolock", "--seed", "1",
             "--shrink-seconds", "20", "--html", str(page), "--report", str(report)],
            cwd=tmp_path)
    assert p.returncode == 1, p.stdout + p.stderr
    minimal = json.loads(report.read_text())["summary"]["shrunk"]["replay"]
    text = page.read_text()
    assert "ratchet replay " + minimal in text and "shape" in text
    # The page draws the minimal replay: its history and its violations.
    hist, mreport = tmp_path / "min.jsonl", tmp_path / "min.json"
    p = run([ratchet, "replay", minimal, "--history", str(hist), "--report", str(mreport)],
            cwd=tmp_path)
    assert p.returncode == 1, p.stdout + p.stderr
    dom = load(page, tmp_path, "run-timeline.png")
    no_external_references(page, dom)
    check_page(dom, hist, json.loads(mreport.read_text())["violations"])


def test_check_html_of_a_committed_history(ratchet, tmp_path):
    history = ROOT / "model/checker/tests/rules/COPY-ATOMIC.bad.jsonl"
    page, report = tmp_path / "check.html", tmp_path / "r.json"
    p = run([ratchet, "check", str(history), "--html", str(page), "--report", str(report)],
            cwd=tmp_path)
    assert p.returncode == 1, p.stdout + p.stderr
    dom = load(page, tmp_path, "check-timeline.png")
    no_external_references(page, dom)
    check_page(dom, history, json.loads(report.read_text())["violations"])


HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'&'


def test_hostile_history_text_stays_text(ratchet, tmp_path):
    """Server text in every place the page shows it: a NO's text, a
    mailbox name, the target; the DOM holds it as text, never as markup."""
    lines = [{"ratchet_history": 1, "target": HOSTILE[:100]},
             {"t": 1, "c": 1, "id": 1, "ev": "invoke",
              "op": {"kind": "select", "mailbox": HOSTILE[:90]}},
             {"t": 2, "c": 1, "id": 1, "ev": "fail", "status": "NO", "text": HOSTILE[:90]},
             {"t": 3, "c": 2, "id": 2, "ev": "invoke", "op": {"kind": "noop"}},
             {"t": 4, "c": 2, "id": 2, "ev": "ok", "status": "OK",
              "untagged": [{"status": {"mailbox": HOSTILE[:90], "messages": 1}}]}]
    history = tmp_path / "h.jsonl"
    history.write_text("".join(json.dumps(x) + "\n" for x in lines))
    page = tmp_path / "hostile.html"
    p = run([ratchet, "check", str(history), "--html", str(page)], cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    dom = load(page, tmp_path, "hostile.png")
    no_external_references(page, dom, hostile=True)
    titles = [e[1]["title"] for e in dom.by_class("op")]
    assert any(HOSTILE[:90] in t for t in titles), titles
    assert HOSTILE[:90] in dom.by_id("op-1")[2]


def test_html_paths_are_checked_first(ratchet, tmp_path):
    history = ROOT / "model/checker/tests/rules/COPY-ATOMIC.bad.jsonl"
    for args in (["check", str(history), "--html", str(history)],
                 ["check", str(history), "--html", str(tmp_path / "no/dir/x.html")],
                 ["check", "-", "--html", str(tmp_path / "x.html")],
                 ["check", str(history), "--report", str(tmp_path / "a"),
                  "--html", str(tmp_path / "a")],
                 ["run", "--ops", "10", "--html", str(tmp_path / "no/dir/x.html")]):
        p = run([ratchet, *args], cwd=tmp_path)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert "html" in p.stderr, p.stderr
    assert not (tmp_path / "x.html").exists()


def test_run_without_failure_writes_a_page(ratchet, tmp_path):
    page = tmp_path / "clean.html"
    p = run([ratchet, "run", "--quiet", "--seed", "3", "--ops", "2000", "--html", str(page)],
            cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    text = page.read_text()
    assert "No violations." in text and 'class="op ' not in text


def test_wire_run_html_is_drawn_from_its_history(ratchet, imapd, tmp_path):
    """`run --target ... --history H --html P` draws H: a mutant served by
    ratchet-imapd, caught over TCP on 127.0.0.1 (real processes race for
    real: up to three seeds, as test_imapd_mutants.py does)."""
    from test_imapd import Server
    from test_imapd_mutants import url
    page, hist, report = tmp_path / "wire.html", tmp_path / "h.jsonl", tmp_path / "r.json"
    for seed in ("3", "4", "5"):
        s = Server(imapd, "--mutant", "deliver-nolock")
        try:
            p = run([ratchet, "run", "--quiet", "--target", url(s), "--clients", "4",
                     "--seconds", "10", "--seed", seed, "--history", str(hist),
                     "--report", str(report), "--html", str(page)], cwd=tmp_path, timeout=300)
        finally:
            s.stop()
            shutil.rmtree(s.dir, ignore_errors=True)
        if p.returncode != 0:
            break
    assert p.returncode == 1, p.stdout + p.stderr
    dom = load(page, tmp_path, "wire-timeline.png")
    no_external_references(page, dom, hostile=True)
    check_page(dom, hist, json.loads(report.read_text())["violations"])
