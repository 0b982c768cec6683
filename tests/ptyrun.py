#!/usr/bin/python3
# tests/ptyrun.py [--size ROWS COLS] [--stdin FILE] [--after ERE [--send TEXT] [--resize ROWS COLS]]
#           [--mark ERE] --info FILE -- CMD...
# CMD runs as the leader of a new session whose controlling terminal is a new pty (its
# fds 0 1 2, or stdin from FILE): what it writes to the pty goes to our stdout; once the
# output matches ERE, TEXT is typed and the pty resized. FILE gets key=value lines: status (the exit status,
# 128+signal, or "timeout"), stty_before / stty_after (`stty -g` of the pty), fg_ok (when the
# output matched --mark: was CMD's process group still the pty's foreground group?), pending
# (bytes waiting in the pty's input queue at the end: what nobody typed but someone pushed).
# (shared by the integration tests that play a user at a terminal)
import argparse, fcntl, os, re, select, signal, struct, subprocess, sys, termios, time
ap = argparse.ArgumentParser()
ap.add_argument("--size", nargs=2, type=int, default=[24, 80])
ap.add_argument("--stdin")
ap.add_argument("--send")
ap.add_argument("--after")
ap.add_argument("--resize", nargs=2, type=int)
ap.add_argument("--mark")
ap.add_argument("--info", required=True)
ap.add_argument("--timeout", type=float, default=60)
ap.add_argument("cmd", nargs="+")
a = ap.parse_args()
master, slave = os.openpty()
fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", a.size[0], a.size[1], 0, 0))
def stty():
    return subprocess.run(["stty", "-g"], stdin=slave, capture_output=True, text=True).stdout.strip()
before = stty()
stdin = os.open(a.stdin, os.O_RDONLY) if a.stdin else slave
pid = os.fork()
if pid == 0:
    os.close(master)
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    os.dup2(stdin, 0); os.dup2(slave, 1); os.dup2(slave, 2)
    os.execvp(a.cmd[0], a.cmd)
out, sent, fg_ok, status = b"", False, "unchecked", None
deadline = time.monotonic() + a.timeout
while status is None:
    r, _, _ = select.select([master], [], [], 0.05)
    if r:
        try:
            out += os.read(master, 65536)
        except OSError:
            pass
    text = out.decode("latin-1")
    if a.after and not sent and re.search(a.after, text):
        if a.send:
            os.write(master, a.send.encode())
        if a.resize:  # the kernel sends SIGWINCH to the foreground group: layerctl
            fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", a.resize[0], a.resize[1], 0, 0))
        sent = True
    if a.mark and fg_ok == "unchecked" and re.search(a.mark, text):
        fg_ok = "yes" if os.tcgetpgrp(master) == pid else "no (%d)" % os.tcgetpgrp(master)
    p, ws = os.waitpid(pid, os.WNOHANG)
    if p:
        status = os.waitstatus_to_exitcode(ws)
        status = status if status >= 0 else 128 - status
    elif time.monotonic() > deadline:
        os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0); status = "timeout"
os.set_blocking(master, False)
try:
    while True:
        chunk = os.read(master, 65536)
        if not chunk:
            break
        out += chunk
except OSError:
    pass
pending = struct.unpack("i", fcntl.ioctl(slave, termios.FIONREAD, b"\0\0\0\0"))[0]
with open(a.info, "w") as f:
    f.write("status=%s\nstty_before=%s\nstty_after=%s\nfg_ok=%s\npending=%d\n"
            % (status, before, stty(), fg_ok, pending))
sys.stdout.write(out.decode("latin-1"))
