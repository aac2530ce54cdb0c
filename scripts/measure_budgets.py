#!/usr/bin/env python3
"""Measure drcockpit's interactive budgets by running the real binary in a pseudo-terminal.

  first frame     time from exec to the first full frame (the mode badge drawn), before any probe answers
  idle CPU        CPU time used over an idle window with the demo running (utime+stime from /proc)
  key → frame     time from writing a key to the first redraw bytes, while every probe is slow
                  (health URLs point at a local server that accepts and never answers)
  idle RSS        resident memory of the demo after 5 s idle (/proc/PID/status VmRSS), and of the
                  cockpit alone (`monitor plans/demo.toml` against a separate `simulate`) after 8 s
  100k flood      a live `command` step printing 100,000 lines (`seq 100000`): time from the
                  child's exit to the step's `step_finished` in the journal (its `at`, and when the
                  script saw it on disk), and the cockpit's peak RSS (VmHWM). With `--big`, the
                  plan is benches/big.toml's (500 services and 500 images per site on the panels,
                  probed every 2 s from a `drcockpit simulate --scenario big` process) with the
                  flood step instead of its steps.
  memory split    RssAnon (heap, stacks) and RssFile (the binary's pages) from /proc/PID/status

Usage: scripts/measure_budgets.py [path/to/drcockpit] [--flood-only] [--big]   (default target/release/drcockpit)
Prints a Markdown table; numbers go into BENCHMARKS.md. Only loopback is used.
"""
import os, pty, select, socket, statistics, sys, tempfile, threading, time

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
BIN = ARGS[0] if ARGS else "target/release/drcockpit"
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


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class Pump:
    """Keep reading the terminal (a cockpit blocks when nobody reads its screen)."""
    def __init__(self, fd):
        self.fd, self.buf, self.stop_evt = fd, bytearray(), threading.Event()
        self.th = threading.Thread(target=self.run, daemon=True)
        self.th.start()

    def run(self):
        while not self.stop_evt.is_set():
            r, _, _ = select.select([self.fd], [], [], 0.05)
            if r:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    return
                self.buf += chunk
                del self.buf[:-200000]

    def wait_for(self, needle, limit=10.0):
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if needle in self.buf:
                return
            time.sleep(0.02)
        raise SystemExit(f"never saw {needle!r}")

    def close(self):
        self.stop_evt.set()
        self.th.join()


def memory_split(pid):
    """RssAnon, RssFile (KiB) and the thread count of a process."""
    return status_kb(pid, "RssAnon"), status_kb(pid, "RssFile"), status_kb(pid, "Threads")


def idle_rss(settle=5.0):
    with tempfile.TemporaryDirectory() as state:
        pid, fd = spawn([], {"XDG_STATE_HOME": state})
        pump = Pump(fd)
        pump.wait_for(b"DEMO")
        time.sleep(settle)
        rss, hwm = status_kb(pid, "VmRSS"), status_kb(pid, "VmHWM")
        global IDLE_SPLIT
        IDLE_SPLIT = memory_split(pid)
        pump.close()
        stop(pid, fd)
    return rss, hwm


IDLE_SPLIT = (0, 0, 0)


def idle_rss_alone(settle=8.0):
    """VmRSS of the cockpit without the demo's embedded simulator: `monitor plans/demo.toml`
    against a separate `drcockpit simulate` (region-outage, as the demo), 8 s after start."""
    plan = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "plans", "demo.toml")
    sim, url = start_sim("region-outage")
    try:
        with tempfile.TemporaryDirectory() as state:
            pid, fd = spawn(["monitor", plan], {"XDG_STATE_HOME": state, "DRCOCKPIT_SIM_URL": url})
            pump = Pump(fd)
            pump.wait_for(b"MONITOR")
            time.sleep(settle)
            rss, split = status_kb(pid, "VmRSS"), memory_split(pid)
            pump.close()
            stop(pid, fd)
    finally:
        sim.kill()
        sim.wait()
    return rss, split


FLOOD_PLAN = """
[plan]
name = "flood"
strategy = "pilot-light"
rto = "1h"
rpo = "15m"
[sites.prod]
label = "Prod"
[sites.dr]
label = "DR"
[[step]]
id = "flood"
title = "A step printing {n} lines"
kind = "command"
command = ["sh", "-c", "seq {n}; date +%s.%N > {exited}"]
"""


def big_flood_plan(n, exited):
    """benches/big.toml's header (500 services, 500 images per site) with the flood step."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "benches", "big.toml")) as f:
        head = f.read().split("[[step]]")[0]
    step = FLOOD_PLAN.split("[[step]]")[1].format(n=n, exited=exited)
    return head + "[[step]]" + step


def start_sim(scenario):
    """`drcockpit simulate --scenario SCENARIO` on a free loopback port: (process, URL)."""
    import subprocess
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    sim = subprocess.Popen([BIN, "simulate", "--scenario", scenario, "--listen", f"127.0.0.1:{port}"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return sim, url
        except OSError:
            time.sleep(0.1)
    sim.kill()
    raise SystemExit("the simulator never listened")


def flood(n=int(os.environ.get("FLOOD_LINES", "100000")), big="--big" in sys.argv):
    """A live command step printing `n` lines; the child writes its exit time just before exiting."""
    import json
    from datetime import datetime
    sim = None
    with tempfile.TemporaryDirectory() as state:
        plan, journal = os.path.join(state, "flood.toml"), os.path.join(state, "j.jsonl")
        exited = os.path.join(state, "exited")
        env = {"XDG_STATE_HOME": state}
        with open(plan, "w") as f:
            if big:
                sim, env["DRCOCKPIT_SIM_URL"] = start_sim("big")
                f.write(big_flood_plan(n, exited))
            else:
                f.write(FLOOD_PLAN.format(n=n, exited=exited))
        pid, fd = spawn(["live", plan, "--journal", journal], env)
        pump = Pump(fd)
        pump.wait_for(b"LIVE")
        time.sleep(5.0 if big else 1.0)  # with --big: a few probe rounds of 500 services
        before = status_kb(pid, "VmRSS")
        os.write(fd, b"\r")
        pump.wait_for(b"Confirm run")
        os.write(fd, b"y")
        seen, finished_at, lines = None, None, 0
        end = time.monotonic() + 300
        while time.monotonic() < end and seen is None:
            time.sleep(0.02)
            try:
                with open(journal) as f:
                    for line in f:
                        if '"step_finished"' in line:
                            seen = time.time()
                            finished_at = json.loads(line)["at"]
            except FileNotFoundError:
                pass
        if seen is None:
            raise SystemExit("the flood step never finished")
        hwm = status_kb(pid, "VmHWM")
        split = memory_split(pid)
        time.sleep(2.0)
        after = status_kb(pid, "VmRSS")
        outs = []
        with open(journal) as f:
            for l in f:
                if '"step_output"' in l:
                    outs.append(json.loads(l)["at"])
        lines = len(outs)
        with open(exited) as f:
            child_exit = float(f.read().strip())
        pump.close()
        stop(pid, fd)
        if sim:
            sim.terminate()
            sim.wait()
    ts = lambda a: datetime.fromisoformat(a.replace("Z", "+00:00")).timestamp()
    at = ts(finished_at)
    # Journal throughput in the real binary: output records over the span of their `at`s.
    span = ts(outs[-1]) - ts(outs[0]) if len(outs) > 1 else 0
    return {
        "journal_at": at - child_exit,
        "seen": seen - child_exit,
        "hwm_kb": hwm,
        "before_kb": before,
        "after_kb": after,
        "lines": lines,
        "n": n,
        "rate": lines / span if span > 0 else 0,
        "split": split,
        "big": big,
    }


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def print_memory():
    rss, hwm = idle_rss()
    alone, (aa, af, at) = idle_rss_alone()
    fl = flood()
    print(f"| idle RSS, demo running 5 s after the first frame | ≤ 12 MB | {rss / 1024:.1f} MiB (peak {hwm / 1024:.1f} MiB) |")
    print(f"| idle RSS, the cockpit alone (`monitor plans/demo.toml`, external simulator), 8 s after start | ≤ 12 MB | {alone / 1024:.1f} MiB (RssAnon {aa / 1024:.1f} / RssFile {af / 1024:.1f} MiB, {at} threads) |")
    print(f"| {fl['n']}-line command step: child exit → `step_finished` journaled ({fl['lines']} output lines journaled) | ≤ 2 s | {fl['journal_at']:.2f} s (seen on disk by the script after {fl['seen']:.2f} s) |")
    print(f"| {fl['n']}-line command step: output records journaled per second (first to last `at`) | ≥ 50,000/s | {fl['rate']:,.0f}/s |")
    panels = " with 500 services and 500 images per site on the panels" if fl["big"] else ""
    print(f"| {fl['n']}-line command step{panels}: peak RSS (VmHWM) | ≤ 30 MB | {fl['hwm_kb'] / 1024:.1f} MiB (before the step {fl['before_kb'] / 1024:.1f} MiB, 2 s after it {fl['after_kb'] / 1024:.1f} MiB) |")
    a, f, t = IDLE_SPLIT
    print(f"| idle: RssAnon / RssFile, threads | — | {a / 1024:.1f} / {f / 1024:.1f} MiB, {t} threads |")
    a, f, t = fl["split"]
    print(f"| right after the flood: RssAnon / RssFile, threads | — | {a / 1024:.1f} / {f / 1024:.1f} MiB, {t} threads |")


if __name__ == "__main__":
    if "--flood-only" in sys.argv:
        print("| budget | target | measured |")
        print("|---|---|---|")
        print_memory()
        sys.exit(0)
    ff = first_frame()
    kf = key_to_frame()
    cpu = idle_cpu()
    print("| budget | target | measured |")
    print("|---|---|---|")
    print(f"| first frame (exec → mode badge drawn), n={len(ff)} | < 50 ms | median {statistics.median(ff):.1f} ms, max {max(ff):.1f} ms |")
    print(f"| idle CPU, demo running, 20 s window | < 1 % of a core | {cpu:.2f} % |")
    print(f"| key → redrawn frame with every probe hanging, n={len(kf)} | < 16 ms | median {statistics.median(kf):.2f} ms, p95 {pct(kf, 95):.2f} ms, max {max(kf):.2f} ms |")
    print_memory()
