#!/usr/bin/env python3
"""Measure drcockpit's interactive budgets by running the real binary in a pseudo-terminal.

  first frame     time from exec to the first full frame (the mode badge drawn), before any probe answers
  idle CPU        CPU time used over an idle window with the demo running (utime+stime from /proc)
  key → frame     time from writing a key to the first redraw bytes, while every probe is slow
                  (health URLs point at a local server that accepts and never answers)

Usage: scripts/measure_budgets.py [path/to/drcockpit]   (default target/release/drcockpit)
Prints a Markdown table; numbers go into BENCHMARKS.md. Only loopback is used.
"""
import os, pty, select, socket, statistics, sys, tempfile, threading, time

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/drcockpit"
TICKS = os.sysconf("SC_CLK_TCK")


def spawn(args, env_extra=None, rows=40, cols=150):
    env = dict(os.environ, TERM="xterm-256color", DRCOCKPIT_OPERATOR="bench")
    env.pop("NO_COLOR", None)
    env.update(env_extra or {})
    pid, fd = pty.fork()
    if pid == 0:
        import fcntl, struct, termios
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.execvpe(BIN, [BIN] + args, env)
    return pid, fd


def read_until(fd, needle, limit=10.0):
    buf = b""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            buf += chunk
            if needle in buf:
                return time.monotonic(), buf
    raise SystemExit(f"never saw {needle!r}")


def drain(fd, quiet=0.3):
    """Read until the terminal has been quiet for `quiet` seconds."""
    last = time.monotonic()
    while time.monotonic() - last < quiet:
        r, _, _ = select.select([fd], [], [], 0.02)
        if r:
            try:
                if os.read(fd, 65536):
                    last = time.monotonic()
            except OSError:
                return


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / TICKS


def stop(pid, fd):
    try:
        os.write(fd, b"q")
        time.sleep(0.3)
        os.kill(pid, 15)
    except OSError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def first_frame(n=15):
    times = []
    with tempfile.TemporaryDirectory() as state:
        for _ in range(n):
            t0 = time.monotonic()
            pid, fd = spawn([], {"XDG_STATE_HOME": state})
            t1, _ = read_until(fd, b"DEMO")
            times.append((t1 - t0) * 1000)
            stop(pid, fd)
    return times


def idle_cpu(window=20.0):
    with tempfile.TemporaryDirectory() as state:
        pid, fd = spawn([], {"XDG_STATE_HOME": state})
        read_until(fd, b"DEMO")
        stop_evt = threading.Event()
        def pump():
            while not stop_evt.is_set():
                r, _, _ = select.select([fd], [], [], 0.1)
                if r:
                    try:
                        os.read(fd, 65536)
                    except OSError:
                        return
        th = threading.Thread(target=pump, daemon=True)
        th.start()
        time.sleep(3)
        c0, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(window)
        c1, t1 = cpu_seconds(pid), time.monotonic()
        stop_evt.set()
        th.join()
        stop(pid, fd)
    return 100.0 * (c1 - c0) / (t1 - t0)


SLOW_PLAN = """
[plan]
name = "slow probes"
strategy = "warm-standby"
rto = "30m"
rpo = "5m"
[probes]
interval = "1s"
[sites.prod]
label = "Prod"
health = {{ url = "http://127.0.0.1:{port}/healthz", timeout = "30s" }}
[sites.dr]
label = "DR"
health = {{ url = "http://127.0.0.1:{port}/healthz", timeout = "30s" }}
{steps}
"""


def key_to_frame(n=40):
    # A server that accepts connections and never answers: every probe hangs until its timeout.
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(128)
    port = srv.getsockname()[1]
    held = []
    stop_evt = threading.Event()
    def accept():
        srv.settimeout(0.2)
        while not stop_evt.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                pass
    threading.Thread(target=accept, daemon=True).start()
    steps = "\n".join(
        f'[[step]]\nid = "s{i}"\ntitle = "Step {i}"\nkind = "manual"\ninstructions = "x"\n' for i in range(12)
    )
    times = []
    with tempfile.TemporaryDirectory() as state:
        plan = os.path.join(state, "slow.toml")
        with open(plan, "w") as f:
            f.write(SLOW_PLAN.format(port=port, steps=steps))
        pid, fd = spawn(["monitor", plan], {"XDG_STATE_HOME": state})
        read_until(fd, b"MONITOR")
        time.sleep(2.5)  # probes are now all in flight and hanging
        for i in range(n):
            drain(fd, 0.15)
            key = b"j" if (i // 6) % 2 == 0 else b"k"
            t0 = time.monotonic()
            os.write(fd, key)
            r, _, _ = select.select([fd], [], [], 2.0)
            if r:
                os.read(fd, 65536)
                times.append((time.monotonic() - t0) * 1000)
        stop(pid, fd)
    stop_evt.set()
    return times


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


if __name__ == "__main__":
    ff = first_frame()
    kf = key_to_frame()
    cpu = idle_cpu()
    print("| budget | target | measured |")
    print("|---|---|---|")
    print(f"| first frame (exec → mode badge drawn), n={len(ff)} | < 50 ms | median {statistics.median(ff):.1f} ms, max {max(ff):.1f} ms |")
    print(f"| idle CPU, demo running, 20 s window | < 1 % of a core | {cpu:.2f} % |")
    print(f"| key → redrawn frame with every probe hanging, n={len(kf)} | < 16 ms | median {statistics.median(kf):.2f} ms, p95 {pct(kf, 95):.2f} ms, max {max(kf):.2f} ms |")
