#!/usr/bin/env python3
"""capture.py HAPROXY OUTDIR: what a master-worker haproxy answers, as the
tests replay it (tests/data/haproxy/README.md). Starts HAPROXY -W on
127.0.0.1 in a temporary directory, reloads it (valid, still loading,
invalid; by SIGUSR2, then by `reload` on the master CLI: invalid, valid,
asked again while loading) and writes each whole answer to
OUTDIR/VERSION-STATE.txt, byte for byte."""
import os, re, shutil, signal, socket, subprocess, sys, tempfile, time

haproxy, out = sys.argv[1], sys.argv[2]
version = subprocess.run([haproxy, "-v"], capture_output=True, text=True).stdout.split()[2]
version = version.split("-")[0]
tmp = tempfile.mkdtemp(prefix="capture.")
master, admin = f"{tmp}/master.sock", f"{tmp}/admin.sock"
port = 18900 + os.getpid() % 1000
cfg = f"{tmp}/haproxy.cfg"
base = f"""global
    stats socket {admin} mode 600 level admin expose-fd listeners
defaults
    mode http
    timeout client 20s
    timeout server 5s
    timeout connect 1s
frontend f
    bind 127.0.0.1:{port}
"""
ok = base + "    http-request return status 200 content-type text/plain string ok\n"
with open(f"{tmp}/big.map", "w") as m:
    m.writelines(f"/p/{i} v\n" for i in range(3_000_000))
big = base + f"    http-request set-var(txn.m) path,map({tmp}/big.map)\n" + \
    "    http-request return status 200 content-type text/plain string ok\n"

def write(text):
    with open(cfg, "w") as f:
        f.write(text)

def ask(path, command, timeout=2.0):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(command + b"\n")
    s.shutdown(socket.SHUT_WR)
    got = b""
    try:
        while not got.endswith(b"\n\n"):
            d = s.recv(65536)
            if not d:
                break
            got += d
    except socket.timeout:
        pass
    s.close()
    return got

def reload_asked():
    """`reload` sent on the master CLI as haproxy-reloads -r sends it (the
    command, then our end shut for writing); the answer is read by
    reload_answer."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(60)
    s.connect(master)
    s.sendall(b"reload\n")
    try:
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # Closed already: a master before 2.7 re-executing itself.
    return s

def reload_answer(s):
    """All the master says until it closes: empty before 2.7."""
    got = b""
    try:
        while d := s.recv(65536):
            got += d
    except ConnectionResetError:
        pass
    except socket.timeout:
        sys.exit(f"capture.py: {version}: no end to the answer to reload: {got!r}")
    s.close()
    return got

def save(state, answer):
    with open(f"{out}/{version}-{state}.txt", "wb") as f:
        f.write(answer)

def until(what, pred, seconds=20):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            got = pred()
            if got:
                return got
        except (OSError, ValueError, IndexError):
            pass  # Not answering, or an answer cut as the master re-executes.
        time.sleep(0.02)
    sys.exit(f"capture.py: {version}: timed out waiting for {what}")

def reloads_column(a):
    # <reloads> is the third column, the fourth before 2.5.
    return re.findall(rb"<[^>]*>", a.split(b"\n")[0]).index(b"<reloads>")

def master_reloads(a):
    """The master's reload count in a whole show proc answer."""
    if not a.endswith(b"\n\n"):
        raise ValueError("cut")
    return int(a.split(b"\n")[1].split()[reloads_column(a)])

def show_proc_after(n):
    """The first whole show proc once the master has reloaded n times."""
    return until(f"reload {n}", lambda: (a := ask(master, b"show proc"))
                 and master_reloads(a) == n and a)

def new_workers(a=None):
    a = a or ask(master, b"show proc")
    col = reloads_column(a)
    return [l.split()[0] for l in a.split(b"# workers\n")[1].split(b"\n")
            if l.split()[col:col + 1] == [b"0"]]

def loaded(worker):
    return b"Pid:" in ask(master, b"@!" + worker + b" show info", 0.5)

major_minor = tuple(int(n) for n in version.split(".")[:2])

write(ok)
p = subprocess.Popen([haproxy, "-W", "-db", "-S", master, "-f", cfg],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    until("the worker", lambda: b"Pid:" in ask(admin, b"show info"))
    save("show-proc-started", until("the master", lambda: ask(master, b"show proc")))
    save("show-info", ask(admin, b"show info"))
    save("no-such-worker", ask(master, b"@!99999 show info"))
    # A client holds the old worker: a request not yet whole.
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"GET / HTTP/1.1\r\n")
    time.sleep(0.2)
    write(big)
    p.send_signal(signal.SIGUSR2)
    # The first answer after the reload: 3.1+ list the new worker loading.
    save("show-proc-loading", show_proc_after(1))
    new = until("a new worker", new_workers)
    until("the new worker loaded", lambda: loaded(new[0]))
    save("show-proc-reloaded", ask(master, b"show proc"))
    save("old-worker-stopping", until("the old worker's Stopping: 1", lambda: (a := ask(
        master, b"@!" + ask(master, b"show proc").split(b"# old workers\n")[1].split()[0]
        + b" show info")) and b"Stopping: 1" in a and a))
    c.close()
    write(ok + "    bogus-keyword\n")
    p.send_signal(signal.SIGUSR2)
    save("show-proc-failed", show_proc_after(2))
    # Reloads asked on the master CLI from here (3.3.0 keeps SIGUSR2
    # blocked after a failed reload). The same invalid configuration: two
    # failed reloads in a row.
    save("reload-failed", reload_answer(reload_asked()))
    save("show-proc-failed-twice", show_proc_after(3))
    write(ok)
    save("reload-loaded", reload_answer(reload_asked()))
    # Before 2.7 the answer came before the reload: wait for it.
    show_proc_after(4)
    until("the new worker loaded", lambda: (n := new_workers()) and loaded(n[0]))
    if major_minor >= (3, 1):
        # A reload asked while the new worker of an earlier one still
        # loads the slow configuration: answered at once.
        write(big)
        first = reload_asked()
        a = show_proc_after(5)
        if not new_workers(a):
            sys.exit(f"capture.py: {version}: no new worker listed while loading: {a!r}")
        busy = reload_answer(reload_asked())
        if b"Another reload is still in progress." not in busy:
            sys.exit(f"capture.py: {version}: a second reload was not refused: {busy!r}")
        save("reload-busy", busy)
        done = reload_answer(first)
        if not done.startswith(b"Success=1\n"):
            sys.exit(f"capture.py: {version}: the slow reload: {done!r}")
        if master_reloads(ask(master, b"show proc")) != 5:
            sys.exit(f"capture.py: {version}: the refused reload reloaded")
finally:
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    shutil.rmtree(tmp)
