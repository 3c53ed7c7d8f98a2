"""Real IMAP servers on 127.0.0.1 for tests and benchmarks (non-root mail
processes, temporary folders under /tmp, stopped by PID).

Recipes: ../shared/servers.md. Used by tests/test_wire.py and
scripts/bench.sh (make bench); also runnable by hand:

    /usr/bin/python3 scripts/servers/servers.py dovecot maildir
    /usr/bin/python3 scripts/servers/servers.py cyrus
    /usr/bin/python3 scripts/servers/servers.py dovecot-pair maildir
    (two Dovecots and the dsync command between them)
    (prints the imap:// URL, serves until Ctrl-C)
"""
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
USERS = (("alice", "pass1"), ("bob", "pass2"))


def install(kind):
    """Installs the server packages when missing (scripts/deps.sh servers:
    root runs apt-get, anyone else gets the command printed). Cyrus is
    not apt-installed (it conflicts with dovecot-imapd): its libraries
    come from deps.sh, its debs are unpacked by install_cyrus()."""
    if kind == "cyrus":
        return install_cyrus()
    # Dovecot's LMTP server is a package of its own (dovecot-lmtpd).
    binaries = {"dovecot": ["/usr/sbin/dovecot", "/usr/lib/dovecot/lmtp"],
                "imap4d": ["/usr/sbin/imap4d"]}[kind]
    if all(os.path.exists(b) for b in binaries):
        return None
    p = subprocess.run([str(ROOT / "scripts" / "deps.sh"), "servers"],
                       capture_output=True, text=True, timeout=1800)
    missing = [b for b in binaries if not os.path.exists(b)]
    if not missing:
        return None
    return (p.stderr or p.stdout).strip() or f"{missing[0]} is missing"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.settimeout(2)
                if s.recv(1).startswith(b"*"):
                    return True
        except OSError:
            time.sleep(0.05)
    return False


def chown_nobody(path):
    subprocess.run(["chown", "-R", "nobody:nogroup", str(path)], check=True)


def as_nobody(argv):
    if os.getuid() != 0:
        return argv  # already unprivileged: run as ourselves
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
            "--", *argv]


class Server:
    """A started server: url(user), stop()."""

    def __init__(self, kind, proc, port, folder, log):
        self.kind, self.proc, self.port = kind, proc, port
        self.dir, self.log = folder, log

    def url(self, user="alice", password=None):
        password = password or dict(USERS)[user]
        return f"imap://{user}:{password}@127.0.0.1:{self.port}"

    def log_tail(self, n=40):
        try:
            return "\n".join(pathlib.Path(self.log).read_text(
                errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def started(srv):
    """srv once its port greets; else it is stopped and RuntimeError raised
    with the tail of its log."""
    if not wait_port(srv.port, srv.proc):
        log = srv.log_tail()
        srv.stop()
        raise RuntimeError(f"{srv.kind} did not start on port {srv.port}:\n{log}")
    return srv


DOVECOT_CONF = """\
protocols = {protocols}
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
{ssl}mail_location = {location}
postmaster_address = postmaster@example.test
mail_max_userip_connections = 200
# Test servers need no durability: fsync would dominate every write.
mail_fsync = never
{hardlinks}{capability}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/passwd
  default_fields = uid={user} gid={group} home={d}/home/%u
}}
service imap-login {{
  chroot =
  # one long-lived login process: no fork per connection
  service_count = 0
  process_min_avail = 1
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
service imap {{
  # reuse imap processes: reconnects are part of the workload
  service_count = 0
  process_min_avail = 4
  client_limit = 1
}}
{lmtp}service anvil {{
  chroot =
}}
service ipc {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""


# Found by ratchet (COPY-ATOMIC, ~1 run in 8 of 5000 ops): with the default
# hard-link COPY, a maildir message moved out of a folder and copied back
# reuses its old file name; Dovecot then logs "Expunged message reappeared,
# giving a new UID" and the UID its COPYUID announced vanishes while the
# message reappears under a new UID nobody was told about. Copying without
# hard links avoids it, so the clean-run tests use that.
NO_HARDLINKS = "maildir_copy_with_hardlinks = no\n"

# LMTP on 127.0.0.1 (servers.md): RCPT TO:<alice+MAILBOX> saves into
# MAILBOX (which must exist), <alice> into INBOX.
LMTP_CONF = """\
recipient_delimiter = +
lmtp_save_to_detail_mailbox = yes
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {port}
  }}
}}
"""


def dovecot_ssl_conf(d, tls, plaintext):
    """The ssl settings: none without tls, else tls = (cert, key) files
    (PEM), copied into d (Dovecot, running as nobody, may not reach the
    caller's folder), and plaintext = False for disable_plaintext_auth."""
    if tls is None:
        return "ssl = no\ndisable_plaintext_auth = no\nauth_mechanisms = plain login\n"
    cert, key = d / "cert.pem", d / "key.pem"
    shutil.copyfile(tls[0], cert)
    shutil.copyfile(tls[1], key)
    return (f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}\n"
            f"disable_plaintext_auth = {'no' if plaintext else 'yes'}\n"
            # Dovecot counts 127.0.0.1 to 127.0.0.1 secure and allows LOGIN
            # there whatever disable_plaintext_auth says; without PLAIN it
            # disables LOGIN (LOGINDISABLED) on every connection.
            f"auth_mechanisms = {'plain login' if plaintext else 'login'}\n")


def start_dovecot(storage="maildir", hardlinks=False, capability=None, lmtp=False,
                  tls=None, plaintext=True):
    """Dovecot on a free port with users alice and bob; storage is
    'maildir' or 'mdbox'; hardlinks=True keeps Dovecot's default maildir
    COPY by hard link (see NO_HARDLINKS); capability replaces the CAPABILITY
    it announces after login (e.g. "IMAP4rev1 LITERAL+": a server without
    UIDPLUS, CONDSTORE, QRESYNC, MOVE and ENABLE); lmtp=True also serves
    LMTP on srv.lmtp_port. srv.lda is the dovecot-lda command line that
    delivers to alice (add -m MAILBOX), srv.maildir alice's Maildir.
    tls = (cert file, key file) switches TLS on: STARTTLS on srv.port,
    imaps on srv.imaps_port; plaintext=False then sets
    disable_plaintext_auth = yes and leaves PLAIN out of auth_mechanisms
    (dovecot_ssl_conf says why), so that Dovecot sends LOGINDISABLED."""
    location = {"maildir": "maildir:~/Maildir", "mdbox": "mdbox:~/mdbox"}[storage]
    d = pathlib.Path(tempfile.mkdtemp(prefix="ratchet-dovecot-", dir="/tmp"))
    for sub in ("run", "state", "home"):
        (d / sub).mkdir()
    port = free_port()
    lmtp_port = free_port() if lmtp else None
    imaps_port = free_port() if tls else 0
    user, group = ("nobody", "nogroup") if os.getuid() == 0 else (
        os.environ.get("USER", "nobody"), "nogroup")
    (d / "dovecot.conf").write_text(DOVECOT_CONF.format(
        d=d, port=port, location=location, user=user, group=group,
        hardlinks="" if hardlinks else NO_HARDLINKS,
        protocols="imap lmtp" if lmtp else "imap",
        lmtp=LMTP_CONF.format(port=lmtp_port) if lmtp else "",
        ssl=dovecot_ssl_conf(d, tls, plaintext), imaps_port=imaps_port,
        capability=f"imap_capability = {capability}\n" if capability else ""))
    (d / "passwd").write_text("".join(f"{u}:{p}::::::\n" for u, p in USERS))
    if os.getuid() == 0:
        chown_nobody(d)
    proc = subprocess.Popen(as_nobody(["/usr/sbin/dovecot", "-c",
                                       str(d / "dovecot.conf"), "-F"]),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    srv = started(Server("dovecot-" + storage, proc, port, d, d / "dovecot.log"))
    srv.lmtp_port = lmtp_port
    srv.imaps_port = imaps_port or None
    srv.lda = f"/usr/lib/dovecot/dovecot-lda -c {d}/dovecot.conf -d alice -f ratchet@example.test"
    srv.maildir = d / "home" / "alice" / "Maildir"
    return srv


def start_dovecot_pair(storage="maildir"):
    """Two Dovecot instances (separate folders and ports, the same users)
    to replicate with dsync: see dsync_command."""
    a = start_dovecot(storage)
    try:
        return a, start_dovecot(storage)
    except Exception:
        a.stop()
        raise


DSYNC_MODES = ("stateless", "full", "stateful")


def dsync_command(a, b, user="alice", mode="stateless"):
    """The shell command that syncs user's mail of Dovecot a with Dovecot b
    (servers.md; `env -i`, or dsync-server reads doveadm's environment and
    hangs 30 s). mode: 'stateless' (`doveadm sync`, which skips a mailbox
    whose UIDVALIDITY, UIDNEXT, message count and HIGHESTMODSEQ are equal
    on both sides), 'full' (`sync -f`) or 'stateful' (`sync -s STATE`,
    the state ratchet keeps in $RATCHET_SYNC_STATE between runs). It
    holds no password."""
    flags = {"stateless": "", "full": " -f",
             "stateful": ' -s "$RATCHET_SYNC_STATE"'}[mode]
    return (f"/usr/bin/doveadm -c {a.dir}/dovecot.conf sync -u {user}{flags} "
            f'"env -i /usr/bin/doveadm -c {b.dir}/dovecot.conf dsync-server -u {user}"')


IMAP4D_CONF = """\
logging {{
  syslog no;
}};
# kernel (fcntl) locks: the default dot-lock polls with second-long sleeps
locking {{
  type kernel;
}};
mailbox {{
  mail-spool "{d}/spool/nobody";
  mailbox-type mbox;
}};
namespace personal {{
  prefix "" {{
    directory "{d}/home/Mail";
    delimiter "/";
  }};
}};
"""


def start_imap4d():
    """GNU mailutils imap4d: no UIDPLUS, CONDSTORE, QRESYNC, MOVE or
    ENABLE. Runs pre-authenticated per connection (inetd mode behind a
    tiny accept loop), so any user name and password are accepted."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="ratchet-imap4d-", dir="/tmp"))
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "imap4d-inetd", str(port), str(d)],
        stdout=subprocess.DEVNULL, stderr=open(d / "inetd.log", "w"),
        start_new_session=True)
    return started(Server("imap4d", proc, port, d, d / "inetd.log"))


def imap4d_inetd(port, folder):
    """Accept loop: each connection gets `imap4d --inetd --preauth` as
    nobody, with HOME and the mail spool in folder."""
    d = pathlib.Path(folder)
    home = d / "home"
    (home / "Mail").mkdir(parents=True, exist_ok=True)
    (d / "spool").mkdir(exist_ok=True)
    conf = d / "imap4d.conf"
    conf.write_text(IMAP4D_CONF.format(d=d))
    if os.getuid() == 0:
        chown_nobody(d)
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", int(port)))
    lsock.listen(64)
    children = []

    def stop(signum, frame):
        for c in children:
            if c.poll() is None:
                c.kill()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "USER": "nobody",
           "LOGNAME": "nobody"}
    while True:
        conn, _ = lsock.accept()
        children[:] = [c for c in children if c.poll() is None]
        children.append(subprocess.Popen(
            as_nobody(["/usr/sbin/imap4d", "--inetd", "--preauth",
                       f"--config-file={conf}"]),
            stdin=conn.fileno(), stdout=conn.fileno(),
            stderr=subprocess.DEVNULL, env=env, cwd=str(home)))
        conn.close()


CYRUS_ROOT = ROOT / "build-servers" / "cyrus"
CYRUS_BIN = CYRUS_ROOT / "usr" / "lib" / "cyrus" / "bin"
CYRUS_LIB = CYRUS_ROOT / "usr" / "lib" / "x86_64-linux-gnu"
CYRUS_DEBS = ("cyrus-common", "cyrus-imapd", "cyrus-replication")


def install_cyrus():
    """Fetches the Cyrus debs once (apt-get download) and unpacks them
    into build-servers/cyrus (dpkg-deb -x); None when ready, else why not.
    Idempotent: a finished unpack leaves a .done stamp."""
    why = unpack_cyrus()
    if why or not cyrus_missing():
        return why
    p = subprocess.run([str(ROOT / "scripts" / "deps.sh"), "servers"],
                       capture_output=True, text=True, timeout=1800)
    missing = cyrus_missing()
    if missing:
        return ((p.stderr or p.stdout).strip() or
                "missing for Cyrus: " + " ".join(missing))
    return None


def cyrus_missing():
    """What Cyrus still lacks on this machine: saslpasswd2 and the shared
    libraries of its binaries (ldd "not found")."""
    missing = [] if os.path.exists("/usr/sbin/saslpasswd2") else ["saslpasswd2"]
    env = dict(os.environ, LD_LIBRARY_PATH=str(CYRUS_LIB))
    for b in ("master", "imapd", "ctl_cyrusdb", "idled"):
        p = subprocess.run(["ldd", str(CYRUS_BIN / b)], capture_output=True,
                           text=True, env=env, timeout=60)
        missing += [ln.split()[0] for ln in p.stdout.splitlines()
                    if "not found" in ln and ln.split()[0] not in missing]
    return missing


def unpack_cyrus():
    stamp = CYRUS_ROOT / ".done"
    if stamp.exists() and stamp.read_text().split() == list(CYRUS_DEBS) and \
            (CYRUS_BIN / "master").exists():
        return None
    CYRUS_ROOT.mkdir(parents=True, exist_ok=True)
    dl = pathlib.Path(tempfile.mkdtemp(prefix="ratchet-cyrus-debs-", dir="/tmp"))
    try:
        p = subprocess.run(["apt-get", "download", *CYRUS_DEBS], cwd=dl,
                           capture_output=True, text=True, timeout=600)
        debs = sorted(dl.glob("*.deb"))
        if len(debs) != len(CYRUS_DEBS):
            return ("apt-get download " + " ".join(CYRUS_DEBS) + " failed: " +
                    (p.stderr or p.stdout).strip()[-500:])
        for deb in debs:
            subprocess.run(["dpkg-deb", "-x", str(deb), str(CYRUS_ROOT)],
                           check=True, capture_output=True, timeout=300)
    finally:
        shutil.rmtree(dl, ignore_errors=True)
    if not (CYRUS_BIN / "master").exists():
        return f"{CYRUS_BIN}/master is missing after unpacking the debs"
    stamp.write_text(" ".join(CYRUS_DEBS) + "\n")
    return None


CYRUS_IMAPD_CONF = """\
configdirectory: {d}/conf
defaultpartition: default
partition-default: {d}/spool
cyrus_user: {user}
admins: admin
allowplaintext: yes
sasl_mech_list: PLAIN LOGIN
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: {d}/sasldb2
autocreate_quota: 0
"""

# prefork=0: one imapd per connection, forked on accept. The idled daemon
# binds {d}/conf/socket/idle: that folder must exist beforehand.
CYRUS_CONF = """\
START {{
  recover cmd="{b}/ctl_cyrusdb -C {d}/imapd.conf -r"
}}
SERVICES {{
  imap cmd="{b}/imapd -C {d}/imapd.conf" listen="127.0.0.1:{port}" prefork=0
  lmtpunix cmd="{b}/lmtpd -C {d}/imapd.conf" listen="{d}/conf/lmtp.sock" prefork=0
{services}}}
DAEMON {{
  idled cmd="{b}/idled -C {d}/imapd.conf"
}}
"""


def start_cyrus(conf="", services="", users=USERS):
    """Cyrus IMAP 3.6 (unpacked debs, see install_cyrus) on a free port
    with users alice and bob in a sasldb; runs as nobody (the master drops
    to cyrus_user when started as root). Logs go to syslog only: the
    Server's log is the master's own stderr. conf: more imapd.conf lines;
    services: more cyrus.conf SERVICES lines ({d}: the server's folder,
    {b}: the binaries); users: (name, password) pairs."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="ratchet-cyrus-", dir="/tmp"))
    for sub in ("conf", "conf/socket", "spool"):
        (d / sub).mkdir()
    port = free_port()
    user = "nobody" if os.getuid() == 0 else os.environ.get("USER", "nobody")
    (d / "imapd.conf").write_text(CYRUS_IMAPD_CONF.format(d=d, user=user) + conf)
    (d / "cyrus.conf").write_text(CYRUS_CONF.format(
        d=d, b=CYRUS_BIN, port=port, services=services.format(d=d, b=CYRUS_BIN)))
    for u, pw in users:
        subprocess.run(["saslpasswd2", "-p", "-c", "-f", str(d / "sasldb2"), u],
                       input=pw + "\n", text=True, check=True,
                       capture_output=True, timeout=30)
    if os.getuid() == 0:
        chown_nobody(d)
    env = dict(os.environ, LD_LIBRARY_PATH=str(CYRUS_LIB))
    log = open(d / "master.log", "w")
    proc = subprocess.Popen([str(CYRUS_BIN / "master"), "-C", str(d / "imapd.conf"),
                             "-M", str(d / "cyrus.conf"), "-p", str(d / "master.pid"),
                             "-D"],
                            stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    log.close()
    return started(Server("cyrus", proc, port, d, d / "master.log"))


def start_cyrus_pair():
    """Two Cyrus instances for replication: b runs sync_server on a port of
    its own, a names it (sync_host, sync_port) and authenticates as admin
    (a password for these throwaway servers only); see cyrus_sync_command."""
    admin = (("admin", "adminpw"),)
    sync_port = free_port()
    b = start_cyrus(services=f'  syncserver cmd="{{b}}/sync_server -C {{d}}/imapd.conf" '
                             f'listen="127.0.0.1:{sync_port}" prefork=0\n',
                    users=USERS + admin)
    try:
        # sync_try_imap: 0, or sync_client first speaks IMAP to the
        # sync_server, gets BAD and waits 10 s before speaking csync.
        a = start_cyrus(conf=f"sync_host: 127.0.0.1\nsync_port: {sync_port}\n"
                             "sync_authname: admin\nsync_password: adminpw\n"
                             "sync_try_imap: 0\n",
                        users=USERS + admin)
    except Exception:
        b.stop()
        raise
    return a, b


def cyrus_sync_command(a, user="alice"):
    """The shell command that replicates user's mailboxes from Cyrus a to
    the replica a's imapd.conf names (sync_client -u, one run; as the
    servers' user)."""
    run_as = ("setpriv --reuid=nobody --regid=nogroup --clear-groups -- "
              if os.getuid() == 0 else "")
    return (f"{run_as}env LD_LIBRARY_PATH={CYRUS_LIB} {CYRUS_BIN}/sync_client "
            f"-C {a.dir}/imapd.conf -u {user}")


def serve_pair(storage):
    a, b = start_dovecot_pair(storage)
    print(a.url(), b.url(), dsync_command(a, b, mode="stateful"), sep="\n", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        signal.pause()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        a.stop()
        b.stop()
    return 0


def main(argv):
    if len(argv) >= 1 and argv[0] == "imap4d-inetd":
        imap4d_inetd(argv[1], argv[2])
        return 0
    kind = argv[0] if argv else "dovecot"
    why = install(kind if kind in ("imap4d", "cyrus") else "dovecot")
    if why:
        print(why, file=sys.stderr)
        return 2
    if kind == "dovecot-pair":
        return serve_pair(argv[1] if len(argv) > 1 else "maildir")
    if kind == "imap4d":
        srv = start_imap4d()
    elif kind == "cyrus":
        srv = start_cyrus()
    else:
        srv = start_dovecot(argv[1] if len(argv) > 1 else "maildir", lmtp=True)
    print(srv.url(), flush=True)
    if getattr(srv, "lmtp_port", None):
        print(f"lmtp://127.0.0.1:{srv.lmtp_port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        signal.pause()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
