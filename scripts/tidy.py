#!/usr/bin/python3
"""Repository tidy check, in the manner of TigerBeetle's src/tidy.zig.

Usage: tidy.py ROOT [--exceptions FILE] [--update-exceptions]
                    [--fix-whitespace]

Exit status: 0 clean, 1 problems (one "path:line: what" line each on stdout,
sorted by path and line; a count on stderr), 2 usage error (bad flag, ROOT
not a directory, ROOT not in a git work tree). Run by ctest as
`/usr/bin/python3 scripts/tidy.py ${CMAKE_SOURCE_DIR}`; it takes well under
a second on the whole tree.

Files looked at: the tracked files, `git ls-files` run in ROOT, that exist in
the work tree; never symlinks or submodules, never a top-level build*/
folder, never a path with a `corpus` or `corpora` component. Kinds:
  C       *.c *.h
  Python  *.py
  shell   *.sh, or no extension and a #! line naming sh, bash or dash
  CMake   CMakeLists.txt, *.cmake
  md      *.md
Nothing else is read; rule 3 needs only the list of tracked files (and
README.md). Nothing about the folders is assumed beyond what README.md says.

Rules:
 1. function   A C function body is at most 70 lines, counted from the line
               of its opening brace to the line of its closing brace, both
               included (the signature lines are not counted). A function
               body is a `{` at file scope whose previous token is `)` with
               no `=` before it; the scanner skips comments, string and char
               literals and preprocessor lines, so struct/enum/union bodies
               and `= {` initializers are never taken for one. Of an
               #if/#elif/#else, only the first branch is scanned. A function
               is named by the identifier before its parameter list (a
               function made by a macro, `TEST(foo) {`, is TEST(foo)).
               A file whose braces do not balance is reported as such.
 2. file       A C, Python or shell file has at most 800 lines (not md, not
               corpora, not .jsonl: they are not source).
 3. layout     README.md has a "## Layout" section holding a markdown table
               whose first column names folders in backticks (`common/`,
               `harness/cli/`). Each listed folder must hold a tracked file;
               every top-level tracked folder not starting with "." must be
               listed; every folder below the top that holds a tracked
               CMakeLists.txt must be listed, however deep.
 4. words      Banned in every C, Python, shell, CMake and md file, in any
               case: "seed" or "seeds" then "00" (the old citations of seed
               discussions by number), "the" then "brief" (which covers the
               "see ..." form) and "issue" then "notes", each pair separated
               by blanks, or by a line break with maybe a comment marker
               (`*`, `//`, `#`, `>`). (This text and the patterns avoid
               spelling the phrases out, so that tidy passes on itself.)
               The exact file docs/design.md keeps its table of old
               citations: there, a seed/seeds citation is allowed on a line
               that starts with "|".
 5. whitespace Every C, Python, shell, CMake and md file that is not empty
               ends with a newline, and no line of it ends in a space, tab
               or carriage return. `--fix-whitespace` rewrites the files so
               (markdown hard breaks made of two trailing spaces go too),
               then runs the checks as usual.

Exceptions to rules 1 and 2 live in tidy-exceptions.txt next to this script
(or the file given by --exceptions), a ratchet that can only shrink:

    [functions]
    harness/src/opts.c:rt_opts_parse 112
    [files]
    model/src/history_json.c 1078

Each entry gives today's length. Tidy fails when a listed function or file
has grown beyond its entry, when it no longer exceeds the limit (delete the
line), or when it no longer exists (delete the line). An entry may be
lowered by hand when its function or file shrinks. `--update-exceptions`
rewrites the file from the current tree so that every present violation of
rules 1 and 2 is excused: only ever run it deliberately, and review the diff.

Python 3.11 standard library only.
"""

import fnmatch
import re
import subprocess
import sys
from pathlib import Path

FUNCTION_LINES_MAX = 70
FILE_LINES_MAX = 800
EXCEPTIONS_DEFAULT = Path(__file__).resolve().parent / "tidy-exceptions.txt"
DESIGN_DOC = "docs/design.md"

# ---------------------------------------------------------------- files


def git_files(root):
    """The tracked regular files of ROOT that are in the work tree, as POSIX
    paths relative to ROOT, sorted."""
    out = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--stage"],
        capture_output=True, check=False)
    if out.returncode != 0:
        raise UsageError("%s: git ls-files failed: %s" % (
            root, out.stderr.decode(errors="replace").strip()))
    paths = []
    seen = set()
    for entry in out.stdout.decode(errors="surrogateescape").split("\0"):
        if not entry:
            continue
        meta, _, path = entry.partition("\t")
        mode = meta.split(" ", 1)[0]
        if mode in ("120000", "160000") or path in seen:
            continue
        seen.add(path)
        if (root / path).is_file():
            paths.append(path)
    return sorted(paths)


def skipped(path):
    """Whether PATH is left alone: in a top-level build*/ or in corpora."""
    parts = path.split("/")
    if len(parts) > 1 and fnmatch.fnmatchcase(parts[0], "build*"):
        return True
    return any(p in ("corpus", "corpora") for p in parts[:-1])


def kind(root, path):
    """'c', 'py', 'sh', 'cmake', 'md' or None."""
    name = path.rsplit("/", 1)[-1]
    if name.endswith((".c", ".h")):
        return "c"
    if name.endswith(".py"):
        return "py"
    if name.endswith(".sh"):
        return "sh"
    if name == "CMakeLists.txt" or name.endswith(".cmake"):
        return "cmake"
    if name.endswith(".md"):
        return "md"
    if "." not in name:
        try:
            with open(root / path, "rb") as f:
                first = f.readline(200)
        except OSError:
            return None
        if re.match(rb"#!\s*\S*/(env\s+)?(sh|bash|dash)\b", first):
            return "sh"
    return None


# ---------------------------------------------------------------- C scanner


# One token of C: a comment, a preprocessor line (continued by backslashes or
# by a block comment), a string or char literal (cut at the line's end when
# unterminated) or a token of code. At file scope the code tokens are the
# identifiers and ( ) { } ; = (what a function header needs: a number or an
# operator between ")" and "{" is not C); inside a body, only { and }.
LEX_COMMON = r"""
    (?P<comment> /\*.*?(?:\*/|\Z) | //(?:\\\n|[^\n])* )
  | (?P<directive> ^[ \t]*\#(?:/\*.*?(?:\*/|\Z)|\\\n|[^\n])* )
  | (?P<literal> "(?:\\.|[^"\\\n])*"? | '(?:\\.|[^'\\\n])*'? )
"""
FLAGS = re.DOTALL | re.MULTILINE | re.VERBOSE
LEX_FILE = re.compile(LEX_COMMON + r"| (?P<code> [A-Za-z_]\w* | [(){};=] )",
                      FLAGS)
LEX_BODY = re.compile(LEX_COMMON + r"| (?P<code> [{}] )", FLAGS)
SKIPPED_BRANCH = re.compile(r"[ \t]*#[ \t]*(?:else|elif)\b")
CONDITIONAL = re.compile(r"^[ \t]*#[ \t]*(ifdef|ifndef|if|elif|else|endif)\b",
                         re.MULTILINE)


def branch_end(text, pos):
    """The end of the #endif that closes the #else or #elif branch starting
    at POS. The code of a conditional's first branch is what is scanned, as
    if its condition held, so that `int f(void) {` under #if and `int f(int
    a) {` under #else do not open two bodies."""
    nesting = 0
    for m in CONDITIONAL.finditer(text, pos):
        if m.group(1).startswith("if"):
            nesting += 1
        elif m.group(1) == "endif":
            if nesting == 0:
                return m.end()
            nesting -= 1
    return len(text)


NOT_NAMES = set("""
    __attribute__ __declspec _Alignas alignas asm __asm __asm__ _Static_assert
    static_assert sizeof _Alignof typeof __typeof__ if while for switch return
    void char short int long float double signed unsigned _Bool bool _Complex
    const volatile restrict static extern inline _Noreturn struct union enum
    """.split())


def function_name(header):
    """The name and line of the function whose header tokens are HEADER, a
    list of (token, line); None when there is none. The name is the first
    identifier before a "(" at the least parenthesis depth that is not in
    NOT_NAMES, preferring one that is not all capitals (a macro such as
    CM_PRINTF(1, 2) may stand next to the name). A function made by a macro
    at the start of the header, `TEST(foo) {`, is called TEST(foo)."""
    found = []  # (name, line, index of its "(")
    depth = 0
    for k, (tok, line) in enumerate(header):
        if tok == "(":
            name = header[k - 1][0] if k > 0 else ""
            if re.match(r"[A-Za-z_]", name) and name not in NOT_NAMES:
                found.append((name, header[k - 1][1], k, depth))
            depth += 1
        elif tok == ")":
            depth -= 1
    if not found:
        return None
    least = min(f[3] for f in found)  # int (*g(void))(int): g at depth 1
    found = [f[:3] for f in found if f[3] == least]
    lower = [f for f in found if not f[0].isupper()]
    name, line, k = (lower or found)[0]
    if k == 1 and not lower:
        args = []
        for tok, _ in header[k + 1:]:
            if tok in (")", ","):
                break
            args.append(tok)
        name = "%s(%s)" % (name, "".join(args))
    return name, line


def c_functions(text):
    """(functions, problems) of the C source TEXT: functions is a list of
    (name, line of the name, body lines), problems a list of (line, what)
    for what the scanner cannot follow."""
    functions = []
    problems = []
    line = 1
    pos = 0
    skip_to = 0  # where the next token is searched for
    depth = 0
    header = []  # the tokens at file scope since the last ; or }
    current = None  # (name, name line, open line)
    extern_blocks = 0
    while True:
        m = (LEX_BODY if depth else LEX_FILE).search(text, skip_to)
        if m is None:
            break
        skip_to = m.end()
        line += text.count("\n", pos, m.start())
        pos = m.start()
        tok = m.group("code")
        if tok is None:
            if m.group("literal"):
                tok = '""'
            elif (m.group("directive")
                  and SKIPPED_BRANCH.match(m.group("directive"))):
                skip_to = branch_end(text, m.end())
                continue
            else:
                continue
        if depth == 0:
            if tok == "{" and [t for t, _ in header[-2:]] == [
                    "extern", '""']:
                extern_blocks += 1  # extern "C" { ... }: still file scope
                header = []
            elif tok == "}" and extern_blocks:
                extern_blocks -= 1
                header = []
            elif tok == "{":
                if is_function_header(header):
                    found = function_name(header) or ("?", header[0][1])
                    current = (found[0], found[1], line)
                depth = 1
                open_line = line
                header = []
            elif tok == "}":
                problems.append((line, "unbalanced '}' (tidy cannot parse "
                                       "this file)"))
                return functions, problems
            elif tok == ";":
                header = []
            else:
                header.append((tok, line))
        elif tok == "{":
            depth += 1
        elif tok == "}":
            depth -= 1
            if depth == 0 and current is not None:
                name, name_line, body_line = current
                functions.append((name, name_line, line - body_line + 1))
                current = None
    if depth != 0:
        problems.append((open_line, "this '{' is never closed (tidy cannot "
                                    "parse this file)"))
    return functions, problems


def is_function_header(header):
    """Whether a `{` after HEADER opens a function body: HEADER ends with
    `)` and holds no `=` outside parentheses (`x = (struct s){...}`)."""
    if not header or header[-1][0] != ")":
        return False
    depth = 0
    for tok, _ in header:
        if tok == "(":
            depth += 1
        elif tok == ")":
            depth -= 1
        elif tok == "=" and depth == 0:
            return False
    return True


# ---------------------------------------------------------------- exceptions


def read_exceptions(path):
    """({(file, function): (length, line)}, {file: (length, line)},
    problems as (line, what)) of the exceptions file PATH; a missing file
    excuses nothing."""
    functions, files, problems = {}, {}, []
    section = None
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return functions, files, problems
    for number, raw in enumerate(text.splitlines(), 1):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        if entry in ("[functions]", "[files]"):
            section = entry
            continue
        key, _, count = entry.rpartition(" ")
        key = key.strip()
        if not count.isdigit() or not key or section is None:
            problems.append((number, "cannot read %r: want 'path:function N' "
                                     "under [functions] or 'path N' under "
                                     "[files]" % raw))
            continue
        if section == "[functions]":
            file, _, function = key.rpartition(":")
            if not file or not function:
                problems.append((number, "cannot read %r: want "
                                         "'path:function N'" % raw))
                continue
            table, key = functions, (file, function)
        else:
            table = files
        if key in table:
            problems.append((number, "%s is listed twice" % show_key(key)))
            continue
        table[key] = (int(count), number)
    return functions, files, problems


def show_key(key):
    return "%s:%s" % key if isinstance(key, tuple) else key


def write_exceptions(path, long_functions, long_files):
    """Writes the exceptions file PATH (for --update-exceptions)."""
    lines = [
        "# Exceptions of tidy.py: today's length of every C function",
        "# longer than %d lines and every source file longer than %d lines."
        % (FUNCTION_LINES_MAX, FILE_LINES_MAX),
        "# The list may only shrink: lower a number when its function or",
        "# file shrinks, delete the line when it fits the limit. Regenerate",
        "# with tidy.py ROOT --update-exceptions only deliberately.",
        "[functions]",
    ]
    for (file, function), count in sorted(long_functions.items()):
        lines.append("%s:%s %d" % (file, function, count))
    lines.append("[files]")
    for file, count in sorted(long_files.items()):
        lines.append("%s %d" % (file, count))
    path.write_text("\n".join(lines) + "\n")


def ratchet(kind_word, limit, measured, where, excused, exceptions_name):
    """Problems of rule 1 or 2. MEASURED maps key -> length, WHERE maps key
    -> (path, line), EXCUSED maps key -> (listed length, exceptions line)."""
    problems = []
    for key, count in sorted(measured.items()):
        path, line = where[key]
        what = key[1] if kind_word == "function" else path
        if key not in excused:
            if count > limit:
                problems.append((path, line, "%s %s is %d lines, more than "
                                 "%d" % (kind_word, what, count, limit)))
            continue
        listed, number = excused[key]
        if count > listed:
            problems.append((path, line, "%s %s is %d lines, more than its "
                             "exception (%d, in %s:%d); the limit is %d"
                             % (kind_word, what, count, listed,
                                exceptions_name, number, limit)))
        elif count <= limit:
            problems.append((exceptions_name, number, "%s %s is now %d lines, "
                             "within the limit of %d: delete this line"
                             % (kind_word, what, count, limit)))
    for key, (listed, number) in sorted(excused.items()):
        if key not in measured:
            problems.append((exceptions_name, number, "%s %s no longer "
                             "exists: delete this line (or rename the entry, "
                             "if it moved)"
                             % (kind_word, show_key(key))))
    return problems


# ---------------------------------------------------------------- layout


def check_layout(root, tracked, paths):
    """Problems of rule 3. TRACKED: every tracked file; PATHS: those that
    are not skipped (build*/, corpora)."""
    problems = []
    if "README.md" not in tracked:
        return [("README.md", 1, "no tracked README.md for the layout table")]
    lines = (root / "README.md").read_text(errors="replace").splitlines()
    start = next((number for number, text in enumerate(lines, 1)
                  if re.match(r"##\s+Layout\s*$", text)), None)
    if start is None:
        return [("README.md", 1, 'no "## Layout" section')]
    listed = {}
    rows = 0
    for number in range(start + 1, len(lines) + 1):
        text = lines[number - 1]
        if re.match(r"#{1,2}\s", text):
            break
        if not text.lstrip().startswith("|"):
            if rows:
                break
            continue
        rows += 1
        first = text.strip().strip("|").split("|")[0]
        if rows <= 2 or re.fullmatch(r"[\s:-]*", first):
            continue  # the header row and the |---| row
        folders = re.findall(r"`([^`]+/)`", first)
        if not folders:
            problems.append(("README.md", number, "layout row names no "
                             "folder as `folder/` in its first column"))
        for folder in folders:
            folder = folder.strip()
            folder = folder[2:] if folder.startswith("./") else folder
            if folder in listed:
                problems.append(("README.md", number, "layout lists `%s` "
                                 "twice" % folder))
            listed.setdefault(folder, number)
    if rows == 0:
        return [("README.md", start, 'no table in the "## Layout" section')]
    folders = set()
    for path in tracked:
        parts = path.split("/")[:-1]
        for k in range(1, len(parts) + 1):
            folders.add("/".join(parts[:k]) + "/")
    for folder, number in sorted(listed.items(), key=lambda f: f[1]):
        if folder not in folders:
            problems.append(("README.md", number, "layout lists `%s`, which "
                             "holds no tracked file" % folder))
    wanted = {}
    for path in paths:
        parts = path.split("/")
        if any(p.startswith(".") for p in parts[:-1]):
            continue
        if len(parts) > 1:
            wanted.setdefault(parts[0] + "/", "a top-level folder")
        if len(parts) > 2 and parts[-1] == "CMakeLists.txt":
            wanted.setdefault("/".join(parts[:-1]) + "/",
                              "it holds a CMakeLists.txt")
    for folder, why in sorted(wanted.items()):
        if folder not in listed:
            problems.append(("README.md", start, "layout lacks `%s` (%s)"
                             % (folder, why)))
    return problems


# ---------------------------------------------------------------- words

SEP = r"(?:[ \t]+|[ \t]*\r?\n[ \t]*(?:(?://+|#+|\*+|>+)[ \t]*)?)"
SEED = re.compile(r"\bseeds?" + SEP + r"0{2}\d*", re.IGNORECASE)
BANNED = [
    SEED,
    re.compile(r"\bthe" + SEP + r"brief\b", re.IGNORECASE),
    re.compile(r"\bissue" + SEP + r"notes\b", re.IGNORECASE),
]


def check_words(path, text):
    """Problems of rule 4."""
    problems = []
    for pattern in BANNED:
        for m in pattern.finditer(text):
            if (pattern is SEED and path == DESIGN_DOC
                    and "\n" not in m.group()
                    and text.startswith("|", text.rfind("\n", 0, m.start())
                                        + 1)):
                continue
            line = text.count("\n", 0, m.start()) + 1
            problems.append((path, line, "banned words %r"
                             % " ".join(m.group().split())))
    return problems


# ---------------------------------------------------------------- whitespace

TRAILING = re.compile(r"[ \t\r]+$", re.MULTILINE)


def check_whitespace(path, text):
    """Problems of rule 5."""
    problems = []
    for m in TRAILING.finditer(text):
        problems.append((path, text.count("\n", 0, m.start()) + 1,
                         "trailing whitespace"))
    if text and not text.endswith("\n"):
        problems.append((path, text.count("\n") + 1, "no newline at the end "
                         "of the file"))
    return problems


def fix_whitespace(raw):
    """RAW (bytes: a file need not be UTF-8) with the whitespace fixed."""
    fixed = re.sub(rb"[ \t\r]+$", b"", raw, flags=re.MULTILINE)
    if fixed and not fixed.endswith(b"\n"):
        fixed += b"\n"
    return fixed


# ---------------------------------------------------------------- main


class UsageError(Exception):
    pass


USAGE = ("usage: tidy.py ROOT [--exceptions FILE] [--update-exceptions] "
         "[--fix-whitespace]")


def parse_args(argv):
    root = None
    options = {"exceptions": EXCEPTIONS_DEFAULT, "update": False,
               "fix": False}
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--update-exceptions":
            options["update"] = True
        elif arg == "--fix-whitespace":
            options["fix"] = True
        elif arg == "--exceptions":
            if not args:
                raise UsageError("--exceptions needs a file")
            options["exceptions"] = Path(args.pop(0))
        elif arg in ("-h", "--help"):
            print(__doc__)
            sys.exit(0)
        elif arg.startswith("-") or root is not None:
            raise UsageError("unexpected argument %r" % arg)
        else:
            root = arg
    if root is None:
        raise UsageError("ROOT is missing")
    root = Path(root).resolve()
    if not root.is_dir():
        raise UsageError("%s is not a directory" % root)
    options["exceptions"] = options["exceptions"].resolve()
    return root, options


def shown(root, path):
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def tidy(root, options):
    """All problems as (path, line, what)."""
    tracked = git_files(root)
    paths = [p for p in tracked if not skipped(p)]
    exceptions_name = shown(root, options["exceptions"])
    problems = []
    fn_len, fn_where, file_len, file_where = {}, {}, {}, {}
    fixed = 0
    for path in paths:
        k = kind(root, path)
        if k is None:
            continue
        raw = (root / path).read_bytes()
        if options["fix"] and fix_whitespace(raw) != raw:
            raw = fix_whitespace(raw)
            (root / path).write_bytes(raw)
            fixed += 1
        text = raw.decode("utf-8", errors="replace")
        problems += check_whitespace(path, text)
        problems += check_words(path, text)
        if k in ("c", "py", "sh"):
            file_len[path] = text.count("\n") + (0 if text.endswith("\n")
                                                 or not text else 1)
            file_where[path] = (path, 1)
        if k == "c":
            functions, parse = c_functions(text)
            problems += [(path, line, what) for line, what in parse]
            for name, line, count in functions:
                key = (path, name)
                if count >= fn_len.get(key, 0):
                    fn_len[key] = count
                    fn_where[key] = (path, line)
    if options["fix"]:
        print("tidy: fixed whitespace in %d file(s)" % fixed, file=sys.stderr)
    if options["update"]:
        write_exceptions(
            options["exceptions"],
            {k: v for k, v in fn_len.items() if v > FUNCTION_LINES_MAX},
            {k: v for k, v in file_len.items() if v > FILE_LINES_MAX})
        print("tidy: wrote %s: review it before committing" % exceptions_name,
              file=sys.stderr)
    ex_fn, ex_files, ex_problems = read_exceptions(options["exceptions"])
    problems += [(exceptions_name, line, what) for line, what in ex_problems]
    problems += ratchet("function", FUNCTION_LINES_MAX, fn_len, fn_where,
                        ex_fn, exceptions_name)
    problems += ratchet("file", FILE_LINES_MAX, file_len, file_where,
                        ex_files, exceptions_name)
    problems += check_layout(root, tracked, paths)
    return problems


def main(argv):
    try:
        root, options = parse_args(argv)
        problems = tidy(root, options)
    except UsageError as e:
        print("tidy: %s" % e, file=sys.stderr)
        print(USAGE, file=sys.stderr)
        return 2
    for path, line, what in sorted(problems):
        print("%s:%d: %s" % (path, line, what))
    if problems:
        print("tidy: %d problem(s)" % len(problems), file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
