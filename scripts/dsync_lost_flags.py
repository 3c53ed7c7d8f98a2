"""A minimal reproduction of a Dovecot dsync finding (README, "What the first
runs found"): a flag change a client makes while dsync renumbers the message
is lost, though every sync exits 0.

Two Dovecot instances (scripts/servers/servers.py, 127.0.0.1, stopped by
PID) each get N messages appended to mailbox T at UIDs 1..N: the same UIDs,
different messages, so the next `doveadm sync -f` gives all 2N messages new
UIDs on both sides (dsync does not step UIDs). While that sync runs, a
client on replica A sets \\Seen on A's messages, UID by UID; each STORE is
answered OK with a FETCH showing \\Seen. After a quiet `sync -f` that exits
0, every one of those messages must have \\Seen on both replicas (RFC 3501
6.4.6; REPL-FLAGS-MERGE). Some do not, on maildir and mdbox alike, and
Dovecot logs nothing.

    /usr/bin/python3 scripts/dsync_lost_flags.py [maildir|mdbox] [N]

Prints what it saw; exit 1 when a flag was lost, 0 when none was (a race:
run it again), 2 when it could not run."""
import imaplib
import pathlib
import re
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "servers"))
import servers  # noqa: E402


def conn(srv):
    m = imaplib.IMAP4("127.0.0.1", srv.port)
    m.login("alice", dict(servers.USERS)["alice"])
    return m


def state(srv):
    """Subject -> (UID, has \\Seen) of every message in T."""
    m = conn(srv)
    m.select("T", readonly=True)
    data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1]
    m.logout()
    return {x[1].decode().split(":")[1].strip():
            (int(re.search(rb"UID (\d+)", x[0]).group(1)), b"\\Seen" in x[0])
            for x in data if isinstance(x, tuple)}


def fill(srv, name, n):
    m = conn(srv)
    for i in range(n):
        m.append("T", None, None, f"Subject: {name}{i}\r\n\r\nbody\r\n".encode())
    m.logout()


def store_while_syncing(a, cmd, n):
    """UIDs 1..n of A whose STORE +FLAGS (\\Seen) was answered with a FETCH
    while the sync ran."""
    m = conn(a)
    m.select("T")
    sync = subprocess.Popen(cmd, shell=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    stored = set()
    while sync.poll() is None:
        for uid in range(1, n + 1):
            if any(x and b"FLAGS" in x for x in m.uid("STORE", str(uid), "+FLAGS", "(\\Seen)")[1]):
                stored.add(uid)
            if sync.poll() is not None:
                break
    m.logout()
    print(f"the renumbering sync exited {sync.returncode}; {len(stored)} STOREs on A "
          "were answered with \\Seen while it ran")
    return stored


def main(argv):
    storage = argv[0] if argv else "maildir"
    n = int(argv[1]) if len(argv) > 1 else 400
    if servers.install("dovecot"):
        print("dovecot is not installed", file=sys.stderr)
        return 2
    a, b = servers.start_dovecot_pair(storage)
    try:
        cmd = servers.dsync_command(a, b, mode="full")
        m = conn(a)
        m.create("T")
        m.logout()
        subprocess.run(cmd, shell=True, check=True, capture_output=True)
        fill(a, "a", n)
        fill(b, "b", n)
        stored = store_while_syncing(a, cmd, n)
        rc = subprocess.run(cmd, shell=True, capture_output=True).returncode
        sa, sb = state(a), state(b)
        lost = sorted((name for name in sa if name.startswith("a") and
                       int(name[1:]) + 1 in stored and
                       not (sa[name][1] and sb.get(name, (0, False))[1])),
                      key=lambda x: int(x[1:]))
        print(f"quiet sync -f exited {rc}; replicas {'agree' if sa == sb else 'differ'} "
              f"({len(sa)} and {len(sb)} messages)")
        print(f"{len(lost)} messages whose STORE +\\Seen was answered lack \\Seen:",
              ", ".join(f"{x} (now UID {sa[x][0]})" for x in lost[:5]))
        return 1 if lost else 0
    finally:
        a.stop()
        b.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
