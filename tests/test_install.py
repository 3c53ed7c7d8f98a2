"""Installing: the Debian package CPack makes from the build (build/), unpacked
into a scratch root and run from there, finding its own scenario catalogue;
the man pages, generated from the programs' option tables, listing every
option --help lists; `cmake --install` into another prefix behaving the
same. Needs a built build/ (make test builds it) and dpkg-deb."""
import gzip
import os
import pathlib
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, binary, run

BUILD = pathlib.Path(os.environ.get("RATCHET_BUILD", ROOT / "build"))
PROGRAMS = ("ratchet", "ratchet-imapd", "rs-deliver")
COMMANDS = ("run", "check", "replay", "explore", "bench")
# An option's head in --help: "  --name ARG, -x   help" (cm_options_usage).
HELP_OPTION = re.compile(r"^  (--[a-z0-9][a-z0-9-]*)", re.MULTILINE)


def project_version():
    text = (ROOT / "CMakeLists.txt").read_text()
    return re.search(r"project\(ratchet VERSION (\S+)", text).group(1)


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    """(the .deb, the root it is unpacked in)."""
    binary("RATCHET_BIN", "ratchet")  # fails the test with "build first"
    out = tmp_path_factory.mktemp("deb")
    p = subprocess.run(["cpack", "-G", "DEB", "--config", str(BUILD / "CPackConfig.cmake"),
                        "-B", str(out)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    debs = list(out.glob("ratchet_*.deb"))
    assert len(debs) == 1, (debs, p.stdout)
    root = out / "root"
    p = subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(root)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return debs[0], root


def test_package_metadata_and_files(deb):
    pkg, root = deb
    def field(name):
        return subprocess.run(["dpkg-deb", "-f", str(pkg), name], capture_output=True,
                              text=True, check=True).stdout.strip()
    assert field("Package") == "ratchet"
    assert field("Version") == project_version()
    depends = [d.split()[0] for d in field("Depends").split(",")]
    assert "libc6" in depends and "libjansson4" in depends, depends
    assert "libssl3" in depends, depends  # imapc's TLS (OpenSSL)
    for prog in PROGRAMS:
        assert os.access(root / "usr/bin" / prog, os.X_OK), prog
        assert (root / "usr/share/man/man1" / f"{prog}.1.gz").is_file(), prog
    installed = {p.name for p in (root / "usr/share/ratchet/scenarios").iterdir()}
    source = {p.name for p in (ROOT / "scenarios").glob("*.scn")}
    assert source and source <= installed, source - installed


def test_version(deb):
    _, root = deb
    p = run([str(root / "usr/bin/ratchet"), "--version"], cwd=root)
    assert p.returncode == 0, p.stderr
    m = re.fullmatch(r"ratchet (\S+) \(commit (\S+)\)\n", p.stdout)
    assert m is not None, p.stdout
    assert m.group(1) == project_version()
    commit = m.group(2)
    git = shutil.which("git")
    in_git = git is not None and subprocess.run(
        [git, "-C", str(ROOT), "rev-parse", "--git-dir"], capture_output=True).returncode == 0
    if not in_git:
        assert commit == "unknown"
        return
    head = commit.removesuffix("-dirty")
    assert re.fullmatch(r"[0-9a-f]{12}", head), commit
    v = subprocess.run([git, "-C", str(ROOT), "rev-parse", "--verify", "--quiet",
                        head + "^{commit}"], capture_output=True)
    assert v.returncode == 0, f"{commit} is not a commit of this repository"


def test_campaign_and_explore_from_the_package(deb, tmp_path):
    _, root = deb
    ratchet = str(root / "usr/bin/ratchet")
    p = run([ratchet, "run", "--quiet", "--ops", "200", "--seed", "1"], cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.startswith("ratchet: seed 1")
    # By name, from a folder without scenarios: the package's own catalogue.
    p = run([ratchet, "explore", "--bound", "0", "move-vs-fetch"], cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    want = root.resolve() / "usr/share/ratchet/scenarios/move-vs-fetch.scn"
    assert f"scenario move-vs-fetch ({want})" in p.stdout, p.stdout
    assert "bound 0 fully covered" in p.stdout
    p = run([ratchet, "explore", "no-such-scenario"], cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and "no-such-scenario.scn" in p.stderr, p.stderr


def help_options(args):
    p = run(args + ["--help"], cwd=ROOT)
    assert p.returncode == 0, p.stderr
    found = HELP_OPTION.findall(p.stdout)
    assert "--help" in found, p.stdout
    return found


def man_text(root, prog):
    return gzip.decompress((root / "usr/share/man/man1" / f"{prog}.1.gz").read_bytes()).decode()


@pytest.mark.parametrize("prog", PROGRAMS)
def test_man_page_lists_every_option(deb, prog):
    _, root = deb
    page = man_text(root, prog)
    exe = str(root / "usr/bin" / prog)
    for section in (".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH EXIT STATUS",
                    ".SH SEE ALSO"):
        assert section in page, (prog, section)
    if prog == "ratchet":
        parts = [(page[page.index(f".SS {c}\n"):], [exe, c]) for c in COMMANDS]
        # The top level's own: "'ratchet --list-invariants [--json]' lists ...".
        top = run([exe, "--help"], cwd=ROOT).stdout
        for opt in re.findall(r"'ratchet (--[a-z-]+)", top):
            assert "\\fB" + opt.replace("-", "\\-") in page, opt
        exits = ("0", "1", "2", "3")
    else:
        parts = [(page, [exe])]
        exits = ("0", "2")
    for text, args in parts:
        # A command's options sit in its .SS, before the next one.
        own = text.split("\n.SS ", 1)[0] if prog == "ratchet" else text
        for opt in help_options(args):
            tag = "\\fB" + opt.replace("-", "\\-") + "\\fR"
            assert tag in own, (args, opt)
    status = page[page.index(".SH EXIT STATUS"):]
    for code in exits:
        assert f".TP\n\\fB{code}\\fR\n" in status, (prog, code)


def test_cmake_install_elsewhere(tmp_path):
    """cmake --install into DESTDIR with another prefix: the binary finds
    its catalogue there too (beside itself, not by a path compiled in)."""
    binary("RATCHET_BIN", "ratchet")
    dest = tmp_path / "dest"
    p = subprocess.run(["cmake", "--install", str(BUILD), "--prefix", "/opt/rt"],
                       env={**os.environ, "DESTDIR": str(dest)},
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    ratchet = str(dest / "opt/rt/bin/ratchet")
    for prog in PROGRAMS:
        assert (dest / "opt/rt/share/man/man1" / f"{prog}.1.gz").is_file(), prog
    p = run([ratchet, "explore", "--quiet", "--bound", "0", "scenarios"], cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    scenarios = dest / "opt/rt/share/ratchet/scenarios"
    assert p.stdout.count(f"({scenarios}/") == len(list(scenarios.glob("*.scn"))), p.stdout
