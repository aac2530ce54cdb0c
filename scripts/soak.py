#!/usr/bin/env python3
"""Soak the real binary in monitor mode (issue 15, item 5, "Week-long monitors").

Starts `drcockpit simulate --scenario flaky-api` (seeded 502/503s, 1-3 s slow answers, 15 s
stalls), writes the demo plan with a short probe interval (`scripts/big-plan.py --small
--interval`; the loader's floor is 100ms, 20x the demo's 2 s), runs `drcockpit monitor PLAN` in a
pseudo-terminal (its screen is read and thrown away) and samples the cockpit every few seconds:
open file descriptors (/proc/PID/fd), threads (/proc/PID/status Threads) and RSS (VmRSS).

It fails (exit 1) on growth: after a warm-up, the last quarter of the samples against the first
quarter: more than FD_SLACK more descriptors, more than THREAD_SLACK more threads, or an RSS
median above the first quarter's by more than RSS_SLACK_KB. It also fails if the cockpit died.

Usage: scripts/soak.py [--bin target/release/drcockpit] [--minutes 10] [--interval 100ms]
                       [--sample 5] [--scenario flaky-api] [--csv samples.csv]
Prints the samples' summary as Markdown for BENCHMARKS.md. Only loopback is used.
"""
import argparse, os, pty, select, socket, statistics, subprocess, sys, tempfile, threading, time

FD_SLACK = 4
THREAD_SLACK = 2
RSS_SLACK_KB = 2048

ap = argparse.ArgumentParser()
ap.add_argument('--bin', default='target/release/drcockpit')
ap.add_argument('--minutes', type=float, default=10.0)
ap.add_argument('--interval', default='100ms')
ap.add_argument('--sample', type=float, default=5.0, help='seconds between samples')
ap.add_argument('--warmup', type=float, default=30.0, help='seconds before the first sample')
ap.add_argument('--scenario', default='flaky-api')
ap.add_argument('--csv')
a = ap.parse_args()
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def status(pid):
    out = {}
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            k, _, v = line.partition(':')
            out[k] = v.split()[0] if v.split() else ''
    return out


def sample(pid):
    st = status(pid)
    return {
        't': time.monotonic(),
        'fds': len(os.listdir(f'/proc/{pid}/fd')),
        'threads': int(st['Threads']),
        'rss_kb': int(st['VmRSS']),
        'hwm_kb': int(st['VmHWM']),
    }


class Pump(threading.Thread):
    """Keep reading the terminal (a cockpit blocks when nobody reads its screen)."""

    def __init__(self, fd):
        super().__init__(daemon=True)
        self.fd, self.bytes, self.stop = fd, 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            r, _, _ = select.select([self.fd], [], [], 0.1)
            if r:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                self.bytes += len(chunk)


def main():
    port = free_port()
    url = f'http://127.0.0.1:{port}'
    sim = subprocess.Popen([a.bin, 'simulate', '--scenario', a.scenario, '--listen', f'127.0.0.1:{port}'],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid = fd = None
    try:
        for _ in range(100):
            try:
                socket.create_connection(('127.0.0.1', port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit('the simulator did not start')
        with tempfile.TemporaryDirectory() as tmp:
            plan = os.path.join(tmp, 'soak.toml')
            text = subprocess.run([sys.executable, os.path.join(root, 'scripts/big-plan.py'), '--small',
                                   '--interval', a.interval], check=True, capture_output=True, text=True).stdout
            open(plan, 'w').write(text)
            env = dict(os.environ, TERM='xterm-256color', DRCOCKPIT_OPERATOR='soak', DRCOCKPIT_SIM_URL=url,
                       XDG_STATE_HOME=tmp)
            pid, fd = pty.fork()
            if pid == 0:
                import fcntl, struct, termios
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 50, 200, 0, 0))
                os.execvpe(a.bin, [a.bin, 'monitor', plan], env)
            pump = Pump(fd)
            pump.start()
            time.sleep(a.warmup)
            samples, end = [], time.monotonic() + a.minutes * 60
            while time.monotonic() < end:
                if os.waitpid(pid, os.WNOHANG)[0] != 0:
                    sys.exit('FAIL: the cockpit exited during the soak')
                samples.append(sample(pid))
                time.sleep(a.sample)
            pump.stop.set()
            report(samples, pump.bytes)
    finally:
        if pid:
            try:
                os.write(fd, b'q')
                time.sleep(0.5)
                os.kill(pid, 15)
            except OSError:
                pass
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        sim.terminate()
        sim.wait()


def report(samples, screen_bytes):
    if len(samples) < 8:
        sys.exit('FAIL: too few samples; run longer')
    if a.csv:
        with open(a.csv, 'w') as f:
            f.write('seconds,fds,threads,rss_kb\n')
            for s in samples:
                f.write(f"{s['t'] - samples[0]['t']:.1f},{s['fds']},{s['threads']},{s['rss_kb']}\n")
    q = len(samples) // 4
    first, last = samples[:q], samples[-q:]
    secs = samples[-1]['t'] - samples[0]['t'] + a.warmup
    unit = a.interval
    ms = float(unit[:-2]) if unit.endswith('ms') else float(unit[:-1]) * 1000
    rounds = secs * 1000 / ms

    def rng(key, xs):
        return f"{min(s[key] for s in xs)}–{max(s[key] for s in xs)}"

    med = lambda key, xs: statistics.median(s[key] for s in xs)
    print(f"| soak | value |\n|---|---|")
    print(f"| run | {secs / 60:.1f} min of `monitor` at a {unit} probe interval against `{a.scenario}`: "
          f"≈ {rounds:,.0f} probe intervals ≈ {rounds * 2 / 3600:.1f} h at the demo's 2 s |")
    print(f"| samples | {len(samples)} every {a.sample:g} s after a {a.warmup:g} s warm-up; screen output read: {screen_bytes / 1e6:.1f} MB |")
    for key, name in (('fds', 'file descriptors'), ('threads', 'threads'), ('rss_kb', 'RSS (KiB)')):
        print(f"| {name}: first quarter / last quarter | {rng(key, first)} (median {med(key, first):g}) / "
              f"{rng(key, last)} (median {med(key, last):g}) |")
    print(f"| peak RSS (VmHWM) | {samples[-1]['hwm_kb']} KiB |")
    fails = []
    if max(s['fds'] for s in last) > max(s['fds'] for s in first) + FD_SLACK:
        fails.append('file descriptors grew')
    if max(s['threads'] for s in last) > max(s['threads'] for s in first) + THREAD_SLACK:
        fails.append('threads grew')
    if med('rss_kb', last) > med('rss_kb', first) + RSS_SLACK_KB:
        fails.append('RSS grew')
    if fails:
        sys.exit('FAIL: ' + ', '.join(fails))
    print('\nno growth: PASS')


main()
