"""Tests of tidy.py: each rule on a tiny fake repository, both ways.

Run: /usr/bin/python3 -m pytest scripts/test_tidy.py

The banned phrases are built from pieces, so that this file passes tidy.
"""

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
TIDY = HERE / "tidy.py"
sys.path.insert(0, str(HERE))
import tidy  # noqa: E402

SEED = "se" + "ed 00"
SEEDS = "se" + "eds 00"
BRIEF = "the" + " brief"
NOTES = "issue" + " notes"

README = """# fake

Some words.

## Layout

| folder | what |
|---|---|
| `src/` | sources |
| `src/sub/` | a nested CMake project |
| `scripts/` | tools |
| `docs/` | notes |

## Next section

| `not/` | a table outside the layout section |
"""


def c_function(name, lines):
    """A C function whose body (brace to brace) is LINES lines."""
    assert lines >= 2
    return "int %s(void)\n{\n%s}\n" % (name, "\tx++;\n" * (lines - 2))


BASE = {
    "README.md": README,
    "CMakeLists.txt": "add_subdirectory(src)\n",
    "src/CMakeLists.txt": "add_subdirectory(sub)\n",
    "src/sub/CMakeLists.txt": "add_library(sub x.c)\n",
    "src/a.c": "static int x;\n\n" + c_function("small", 10),
    "src/sub/x.c": "/* nothing */\n",
    "scripts/tool.py": "print('hi')\n",
    "docs/notes.md": "# Notes\n\nNothing here.\n",
    ".ci/run": "#!/bin/sh\necho ok\n",
    ".ci/CMakeLists.txt": "# hidden folders need no row\n",
}


def make_repo(tmp_path, files=None, drop=()):
    root = tmp_path / "repo"
    contents = dict(BASE)
    contents.update(files or {})
    for path in drop:
        del contents[path]
    for path, text in contents.items():
        f = root / path
        f.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            f.write_bytes(text)
        else:
            f.write_text(text)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    return root


def run(root, *args, exceptions=None):
    ex = exceptions or (root / "scripts" / "tidy-exceptions.txt")
    out = subprocess.run(
        [sys.executable, str(TIDY), str(root), "--exceptions", str(ex)]
        + list(args), capture_output=True, text=True, timeout=60)
    return out.returncode, out.stdout.splitlines()


def problems(root, *args):
    rc, lines = run(root, *args)
    assert rc == (1 if lines else 0), lines
    return lines


def write_exceptions(root, text):
    (root / "scripts" / "tidy-exceptions.txt").write_text(text)


# ---------------------------------------------------------------- basics


def test_clean_repository_passes(tmp_path):
    root = make_repo(tmp_path)
    assert run(root) == (0, [])


def test_usage_errors(tmp_path):
    assert subprocess.run([sys.executable, str(TIDY)],
                          capture_output=True).returncode == 2
    root = make_repo(tmp_path)
    assert run(root, "--no-such-flag")[0] == 2
    not_git = tmp_path / "plain"
    not_git.mkdir()
    assert run(not_git)[0] == 2
    assert subprocess.run([sys.executable, str(TIDY), str(tmp_path / "nope")],
                          capture_output=True).returncode == 2


def test_tidy_passes_its_own_files():
    for path in (TIDY, Path(__file__)):
        text = path.read_text()
        assert tidy.check_words(path.name, text) == []
        assert tidy.check_whitespace(path.name, text) == []


# ---------------------------------------------------------------- functions


def test_function_over_70_lines_is_reported(tmp_path):
    root = make_repo(tmp_path, {"src/big.c": "\n" + c_function("big", 71)})
    assert problems(root) == [
        "src/big.c:2: function big is 71 lines, more than 70"]


def test_function_of_70_lines_passes(tmp_path):
    root = make_repo(tmp_path, {"src/big.c": c_function("big", 70)})
    assert problems(root) == []


def test_brace_on_signature_line_counts_from_it(tmp_path):
    body = "int f(int a) {\n" + "\ta++;\n" * 69 + "}\n"
    root = make_repo(tmp_path, {"src/f.c": body})
    assert problems(root) == ["src/f.c:1: function f is 71 lines, more "
                              "than 70"]


def test_initializers_structs_and_literals_are_not_functions(tmp_path):
    many = "\t1,\n" * 100
    text = ("struct s {\n" + "\tint a;\n" * 100 + "};\n"
            "static const int tab[] = {\n" + many + "};\n"
            "static struct s one = (struct s){\n" + many + "};\n"
            "enum e {\n" + "\tE,\n" * 100 + "};\n"
            "#define OPEN {\n"
            "int f(void) /* { */\n{\n"
            "\tconst char *s = \"{{{\\\" {\";\n"
            "\tchar c = '{';\n"
            "\t// {\n"
            + "\tx++;\n" * 63 +
            "}\n"
            "#if A\nint g(void) {\n#else\nint g(int a) {\n#endif\n"
            "\treturn 0;\n}\n")
    root = make_repo(tmp_path, {"src/f.c": text})
    assert problems(root) == []
    functions, trouble = tidy.c_functions(text)
    assert trouble == []
    assert [(name, count) for name, _, count in functions] == [
        ("f", 68), ("g", 6)]


def test_function_names():
    text = ("BOTH(common_io)\nstatic void real(int a)\n{\n}\n"
            "TEST(foo, 3)\n{\n}\n"
            "int (*handler(int sig))(int)\n{\n}\n"
            "_Noreturn void die(void) __attribute__((noreturn))\n{\n}\n"
            "static int F(const char *name)\n{\n}\n"
            'extern "C" {\nstatic inline int in(void)\n{\n}\n}\n')
    functions, trouble = tidy.c_functions(text)
    assert trouble == []
    assert [name for name, _, _ in functions] == [
        "real", "TEST(foo)", "handler", "die", "F", "in"]


def test_unbalanced_braces_are_reported(tmp_path):
    root = make_repo(tmp_path, {"src/bad.c": "int f(void)\n{\n\tif (x) {\n"
                                             "}\n"})
    assert problems(root) == [
        "src/bad.c:2: this '{' is never closed (tidy cannot parse this "
        "file)"]
    root = make_repo(tmp_path / "2", {"src/bad.c": "int x;\n}\n"})
    assert problems(root) == [
        "src/bad.c:2: unbalanced '}' (tidy cannot parse this file)"]


def test_function_exception_excuses_up_to_its_length(tmp_path):
    root = make_repo(tmp_path, {"src/big.c": c_function("big", 90)})
    write_exceptions(root, "[functions]\nsrc/big.c:big 90\n[files]\n")
    assert problems(root) == []
    write_exceptions(root, "[functions]\nsrc/big.c:big 89\n[files]\n")
    assert problems(root) == [
        "src/big.c:1: function big is 90 lines, more than its exception "
        "(89, in scripts/tidy-exceptions.txt:2); the limit is 70"]


def test_function_exception_must_shrink_away(tmp_path):
    root = make_repo(tmp_path, {"src/big.c": c_function("big", 70)})
    write_exceptions(root, "# c\n[functions]\nsrc/big.c:big 90\n")
    assert problems(root) == [
        "scripts/tidy-exceptions.txt:3: function big is now 70 lines, "
        "within the limit of 70: delete this line"]


def test_function_exception_of_a_missing_function(tmp_path):
    root = make_repo(tmp_path)
    write_exceptions(root, "[functions]\nsrc/a.c:gone 90\nsrc/nope.c:f 80\n")
    assert problems(root) == [
        "scripts/tidy-exceptions.txt:2: function src/a.c:gone no longer "
        "exists: delete this line (or rename the entry, if it moved)",
        "scripts/tidy-exceptions.txt:3: function src/nope.c:f no longer "
        "exists: delete this line (or rename the entry, if it moved)"]


def test_malformed_exceptions(tmp_path):
    root = make_repo(tmp_path)
    write_exceptions(root, "src/a.c:small 90\n[functions]\nsrc/a.c 9x\n"
                           "src/a.c:small 90\nsrc/a.c:small 91\n")
    lines = problems(root)
    assert [line.split(": ")[0] for line in lines] == [
        "scripts/tidy-exceptions.txt:1", "scripts/tidy-exceptions.txt:3",
        "scripts/tidy-exceptions.txt:4", "scripts/tidy-exceptions.txt:5"]
    assert "listed twice" in lines[3]


def test_update_exceptions_writes_the_violations(tmp_path):
    root = make_repo(tmp_path, {"src/big.c": c_function("big", 75),
                                "src/long.py": "x = 1\n" * 900})
    assert len(problems(root)) == 2
    rc, lines = run(root, "--update-exceptions")
    assert (rc, lines) == (0, [])
    written = (root / "scripts" / "tidy-exceptions.txt").read_text()
    entries = [line for line in written.splitlines()
               if not line.startswith("#")]
    assert entries == ["[functions]", "src/big.c:big 75", "[files]",
                       "src/long.py 900"]
    assert problems(root) == []


# ---------------------------------------------------------------- files


def test_source_file_over_800_lines_is_reported(tmp_path):
    root = make_repo(tmp_path, {"src/long.py": "x = 1\n" * 801,
                                "src/long.sh": "echo\n" * 801,
                                "src/long.h": "int x;\n" * 801})
    assert problems(root) == [
        "src/long.h:1: file src/long.h is 801 lines, more than 800",
        "src/long.py:1: file src/long.py is 801 lines, more than 800",
        "src/long.sh:1: file src/long.sh is 801 lines, more than 800"]


def test_long_non_source_files_pass(tmp_path):
    root = make_repo(tmp_path, {"src/ok.py": "x = 1\n" * 800,
                                "docs/long.md": "words\n" * 900,
                                "src/h.jsonl": "{}\n" * 900,
                                "src/corpus/seed.c": "int x;\n" * 900})
    assert problems(root) == []


def test_file_exception(tmp_path):
    root = make_repo(tmp_path, {"src/long.py": "x = 1\n" * 900})
    write_exceptions(root, "[files]\nsrc/long.py 900\n")
    assert problems(root) == []
    write_exceptions(root, "[files]\nsrc/long.py 899\nsrc/gone.py 900\n"
                           "src/a.c 900\n")
    assert problems(root) == [
        "scripts/tidy-exceptions.txt:3: file src/gone.py no longer exists: "
        "delete this line (or rename the entry, if it moved)",
        "scripts/tidy-exceptions.txt:4: file src/a.c is now 13 lines, "
        "within the limit of 800: delete this line",
        "src/long.py:1: file src/long.py is 900 lines, more than its "
        "exception (899, in scripts/tidy-exceptions.txt:2); the limit is "
        "800"]


# ---------------------------------------------------------------- layout


def test_layout_missing_top_level_folder(tmp_path):
    root = make_repo(tmp_path, {"tests/t.py": "x = 1\n"})
    assert problems(root) == [
        "README.md:5: layout lacks `tests/` (a top-level folder)"]


def test_layout_missing_nested_cmake_folder(tmp_path):
    root = make_repo(tmp_path, {"src/deep/er/CMakeLists.txt": "\n",
                                "src/plain/x.c": "int x;\n"})
    assert problems(root) == [
        "README.md:5: layout lacks `src/deep/er/` (it holds a "
        "CMakeLists.txt)"]
    root = make_repo(tmp_path / "2", {
        "README.md": README.replace(
            "| `src/sub/` | a nested CMake project |\n", "")})
    assert problems(root) == [
        "README.md:5: layout lacks `src/sub/` (it holds a CMakeLists.txt)"]


def test_layout_lists_a_missing_folder(tmp_path):
    root = make_repo(tmp_path, drop=["src/sub/CMakeLists.txt",
                                     "src/sub/x.c"])
    assert problems(root) == [
        "README.md:10: layout lists `src/sub/`, which holds no tracked file"]


def test_layout_row_without_folder_and_missing_section(tmp_path):
    root = make_repo(tmp_path, {
        "README.md": README.replace("| `docs/` | notes |",
                                    "| `docs/` | notes |\n| docs | x |")})
    assert problems(root) == [
        "README.md:13: layout row names no folder as `folder/` in its first "
        "column"]
    root = make_repo(tmp_path / "2", {
        "README.md": README.replace("## Layout", "## Folders")})
    assert problems(root) == ['README.md:1: no "## Layout" section']


# ---------------------------------------------------------------- words


@pytest.mark.parametrize("phrase", [
    SEED + "0", SEED.upper() + "3", SEEDS + "0-004", BRIEF,
    "see " + BRIEF, BRIEF.title(), NOTES, NOTES.upper()])
@pytest.mark.parametrize("path", ["src/w.c", "docs/w.md", "src/w.py",
                                  "src/CMakeLists.txt", "src/w.sh"])
def test_banned_words_are_reported(tmp_path, phrase, path):
    root = make_repo(tmp_path, {path: "# line one\n# as in %s.\n" % phrase})
    lines = problems(root)
    assert len(lines) == 1 and lines[0].startswith(path + ":2: banned words")


def test_banned_words_across_a_line_break(tmp_path):
    text = ("/* follows the\n * brief, as in seed\n * 000 */\n"
            "// an issue\n// notes\n")
    root = make_repo(tmp_path, {"src/w.c": text})
    assert problems(root) == [
        "src/w.c:1: banned words 'the * brief'",
        "src/w.c:2: banned words 'seed * 000'",
        "src/w.c:4: banned words 'issue // notes'"]


def test_near_misses_pass(tmp_path):
    text = ("seed 42, seeds 1 and 2, seed 0, seed0003, the briefing, "
            "briefly, issue tracker notes\n")
    root = make_repo(tmp_path, {"src/w.c": "/* " + text + " */\n",
                                "docs/w.md": text,
                                "src/data.txt": BRIEF + "\n"})
    assert problems(root) == []


def test_design_doc_keeps_its_citation_table(tmp_path):
    table = "| old | new |\n|---|---|\n| %s3 | the store |\n" % SEED
    root = make_repo(tmp_path, {"docs/design.md": table})
    assert problems(root) == []
    root = make_repo(tmp_path / "2", {
        "docs/design.md": table + "As in %s3.\n| %s |\n" % (SEED, BRIEF),
        "docs/other.md": table})
    assert problems(root) == [
        "docs/design.md:4: banned words '%s3'" % SEED,
        "docs/design.md:5: banned words '%s'" % BRIEF,
        "docs/other.md:3: banned words '%s3'" % SEED]


# ---------------------------------------------------------------- whitespace


def test_whitespace_is_reported_and_fixed(tmp_path):
    root = make_repo(tmp_path, {"src/w.c": "int x; \nint y;\t\nint z;",
                                "docs/w.md": "a  \r\nb\r\n",
                                "src/data.txt": "trailing   "})
    assert problems(root) == [
        "docs/w.md:1: trailing whitespace",
        "docs/w.md:2: trailing whitespace",
        "src/w.c:1: trailing whitespace",
        "src/w.c:2: trailing whitespace",
        "src/w.c:3: no newline at the end of the file"]
    rc, lines = run(root, "--fix-whitespace")
    assert (rc, lines) == (0, [])
    assert (root / "src/w.c").read_text() == "int x;\nint y;\nint z;\n"
    assert (root / "docs/w.md").read_bytes() == b"a\nb\n"
    assert (root / "src/data.txt").read_text() == "trailing   "


def test_empty_file_needs_no_newline(tmp_path):
    root = make_repo(tmp_path, {"src/empty.h": ""})
    assert problems(root) == []


def test_symlinks_are_not_followed(tmp_path):
    root = make_repo(tmp_path, {"docs/data.txt": "trailing \n"})
    (root / "src/link.c").symlink_to("../docs/data.txt")
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    assert problems(root) == []
