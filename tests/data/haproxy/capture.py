#!/usr/bin/env python3
"""capture.py HAPROXY OUTDIR: what a master-worker haproxy answers, as the
tests replay it (tests/data/README.md). Starts HAPROXY -W on 127.0.0.1 in
a temporary directory, reloads it (valid, still loading, invalid) and
writes each whole answer to OUTDIR/VERSION-STATE.txt, byte for byte."""
import os, re, signal, socket, subprocess, sys, tempfile, time

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
        except OSError:
            pass
        time.sleep(0.02)
    sys.exit(f"capture.py: {version}: timed out waiting for {what}")

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
    save("show-proc-loading", until("an answer after the reload",
         lambda: (a := ask(master, b"show proc")) and b" 1 " in a.split(b"\n")[1] and a))
    def new_workers():
        a = ask(master, b"show proc")
        # <reloads> is the third column, the fourth before 2.5.
        col = re.findall(rb"<[^>]*>", a.split(b"\n")[0]).index(b"<reloads>")
        return [l.split()[0] for l in a.split(b"# workers\n")[1].split(b"\n")
                if l.split()[col:col + 1] == [b"0"]]
    new = until("a new worker", new_workers)
    until("the new worker loaded",
          lambda: b"Pid:" in ask(master, b"@!" + new[0] + b" show info", 0.5))
    save("show-proc-reloaded", ask(master, b"show proc"))
    save("old-worker-stopping", until("the old worker's Stopping: 1", lambda: (a := ask(
        master, b"@!" + ask(master, b"show proc").split(b"# old workers\n")[1].split()[0]
        + b" show info")) and b"Stopping: 1" in a and a))
    c.close()
    write(ok + "    bogus-keyword\n")
    p.send_signal(signal.SIGUSR2)
    save("show-proc-failed", until("the failed reload", lambda: (a := ask(
        master, b"show proc")) and b" 2 " in a.split(b"\n")[1] and a))
finally:
    p.terminate()
    p.wait()
