#!/usr/bin/env python3
"""Soak the real binary in monitor mode (issue 15, item 5, "Week-long monitors").

Starts `drcockpit simulate --scenario flaky-api` (seeded 502/503s, 1-3 s slow answers, 15 s
stalls), writes the demo plan with a short probe interval (`scripts/big-plan.py --small
--interval`; the loader's floor is 100ms, 20x the demo's 2 s), runs `drcockpit monitor PLAN` in a
pseudo-terminal (its screen is read and thrown away) and samples the cockpit every few seconds:
open file descriptors (/proc/PID/fd), threads (/proc/PID/status Threads), RSS (VmRSS) and tokio
tasks alive (the cockpit's own gauges, `DRCOCKPIT_SELF_METRICS`, rewritten every 10 s).

Time is accelerated as a whole, not only the probe interval: the simulator plays its injected
delays `--time-scale` times faster (default: 2 s / --interval, 20 at 100ms: a 15 s stall lasts
750 ms) and the plan's health timeouts are shortened by the same factor (2 s -> 100 ms), so a
stall still outlasts the timeout as it would in real time. A wall minute is then `scale` minutes
of monitoring against the same faults.

Rounds are counted, not inferred from minutes: the plan's two health URLs point at a small
counting HTTP proxy in this script, which passes each request on to the simulator (its faults
included). The health probe asks once per round, so the requests to /sites/{prod,dr}/healthz are
each site's rounds. Each probe loop is sequential and a slow or stalled answer delays its next
round, so the rounds done are fewer than minutes / interval. Only the health requests go through
the proxy (a few per second; all of them would make the proxy the bottleneck).

`--rounds-equivalent 24h` sizes the run as that much monitoring at the plan's default interval
(2 s: 43,200 rounds) driven at `--interval` (100 ms): 43,200 x 100 ms = 72 minutes of wall time
(warm-up included). Slow and stalled answers make the rounds done fewer than that (against
flaky-api about a fifth); `--until-counted` runs until the rounds counted reach the figure instead.

It fails (exit 1) on growth: after a warm-up, the last quarter of the samples against the first
quarter: more than FD_SLACK more descriptors, more than THREAD_SLACK more threads, a task count
that never falls back to within TASK_SLACK of the first quarter's, or an RSS median above the first
quarter's by more than RSS_SLACK_KB. It also fails if the cockpit died or its tasks were never read.

Usage: scripts/soak.py [--bin target/release/drcockpit] [--minutes 10 | --rounds-equivalent 24h]
                       [--interval 100ms] [--time-scale 20] [--sample 5] [--scenario flaky-api]
                       [--csv samples.csv]
                       [--summary summary.md]
Prints the samples' summary as Markdown for BENCHMARKS.md (and writes it to --summary). The CSV
has one row per sample: seconds, fds, threads, RSS and the rounds counted so far. Only loopback
is used.
"""
import argparse, http.client, http.server, os, pty, re, select, socket, statistics, subprocess, sys, tempfile, \
    threading, time

FD_SLACK = 4
THREAD_SLACK = 2
# Tasks come and go with requests in flight (a pooled connection's task, a probe's fan-out):
# growth is a last quarter whose fewest tasks exceed the first quarter's most by this many.
TASK_SLACK = 4
RSS_SLACK_KB = 2048
# The plan format's default probe interval (docs/plan-format.md, `[probes] interval`).
DEFAULT_INTERVAL_MS = 2000

ap = argparse.ArgumentParser()
ap.add_argument('--bin', default='target/release/drcockpit')
ap.add_argument('--minutes', type=float, help='wall time of the run, warm-up included (default 10)')
ap.add_argument('--rounds-equivalent', metavar='DURATION',
                help='size the run as DURATION (e.g. 24h) of rounds at the default 2 s interval, '
                     'driven at --interval: 24h at 100ms is 43,200 rounds, 72 minutes')
ap.add_argument('--interval', default='100ms')
ap.add_argument('--sample', type=float, default=5.0, help='seconds between samples')
ap.add_argument('--warmup', type=float, default=30.0, help='seconds before the first sample')
ap.add_argument('--scenario', default='flaky-api')
ap.add_argument('--time-scale', type=int,
                help='how much faster the simulator plays its delays (default: 2 s / --interval)')
ap.add_argument('--csv')
ap.add_argument('--summary', help='also write the Markdown summary here')
ap.add_argument('--until-counted', action='store_true',
                help='with --rounds-equivalent: run until that many rounds are counted (each site), '
                     'not for the minutes they would take if every round were on time')
a = ap.parse_args()


def millis(text):
    """`100ms`, `2s`, `5m`, `24h` in milliseconds."""
    for unit, k in (('ms', 1), ('s', 1000), ('m', 60_000), ('h', 3_600_000), ('d', 86_400_000)):
        if text.endswith(unit) and text[:-len(unit)].replace('.', '', 1).isdigit():
            return float(text[:-len(unit)]) * k
    sys.exit(f'`{text}` is no duration (100ms, 2s, 5m, 24h)')


INTERVAL_MS = millis(a.interval)
TIME_SCALE = a.time_scale or max(1, round(DEFAULT_INTERVAL_MS / INTERVAL_MS))
if a.rounds_equivalent and a.minutes is not None:
    sys.exit('--minutes and --rounds-equivalent size the same thing: give one')
if a.until_counted and not a.rounds_equivalent:
    sys.exit('--until-counted needs --rounds-equivalent (how many rounds to count)')
TARGET_ROUNDS = millis(a.rounds_equivalent) / DEFAULT_INTERVAL_MS if a.rounds_equivalent else None
MINUTES = TARGET_ROUNDS * INTERVAL_MS / 60_000 if TARGET_ROUNDS else (a.minutes if a.minutes is not None else 10.0)
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


def tasks_alive(metrics):
    """The cockpit's tokio tasks alive, from its own gauges file (None before the first write)."""
    try:
        with open(metrics) as f:
            for line in f:
                if line.startswith('drcockpit_self_tasks_alive '):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def sample(pid, metrics):
    st = status(pid)
    return {
        't': time.monotonic(),
        'fds': len(os.listdir(f'/proc/{pid}/fd')),
        'threads': int(st['Threads']),
        'rss_kb': int(st['VmRSS']),
        'hwm_kb': int(st['VmHWM']),
        'tasks': tasks_alive(metrics),
    }


class Counter:
    """Requests seen by the proxy, by path (query dropped), and the failures it passed on."""

    def __init__(self):
        self.lock, self.by_path, self.errors = threading.Lock(), {}, 0

    def add(self, path):
        with self.lock:
            self.by_path[path] = self.by_path.get(path, 0) + 1

    def rounds(self):
        """Each site's health-probe rounds (one request each)."""
        with self.lock:
            return {site: self.by_path.get(f'/sites/{site}/healthz', 0) for site in ('prod', 'dr')}

    def families(self):
        out = {}
        with self.lock:
            for path, n in self.by_path.items():
                fam = path.split('/')[1] if path.count('/') else path
                out[fam] = out.get(fam, 0) + n
        return dict(sorted(out.items()))


def proxy(port, sim_port, counter):
    """A counting HTTP/1.1 proxy on 127.0.0.1:port to the simulator on 127.0.0.1:sim_port;
    keep-alive on both sides (one upstream connection per client connection), bodies passed
    whole."""
    local = threading.local()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, *args):
            pass

        def forward(self):
            counter.add(self.path.split('?')[0])
            body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ('connection', 'transfer-encoding')}
            for attempt in (0, 1):
                conn = getattr(local, 'conn', None)
                if conn is None:
                    conn = local.conn = http.client.HTTPConnection('127.0.0.1', sim_port, timeout=120)
                try:
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    break
                except (OSError, http.client.HTTPException):
                    conn.close()
                    local.conn = None
                    if attempt:
                        with counter.lock:
                            counter.errors += 1
                        self.send_error(502)
                        return
            self.send_response_only(resp.status, resp.reason)
            for k, v in resp.getheaders():
                if k.lower() not in ('transfer-encoding', 'connection', 'content-length'):
                    self.send_header(k, v)
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            if self.command != 'HEAD':
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = forward

        def handle(self):
            try:
                super().handle()
            except OSError:
                pass  # the cockpit gave up on a stalled answer: its connection is gone
            finally:
                conn = getattr(local, 'conn', None)
                if conn is not None:
                    conn.close()
                    local.conn = None

    server = http.server.ThreadingHTTPServer(('127.0.0.1', port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


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
    sim = subprocess.Popen([a.bin, 'simulate', '--scenario', a.scenario, '--listen', f'127.0.0.1:{port}',
                            '--time-scale', str(TIME_SCALE)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid = fd = None
    counter = Counter()
    try:
        for _ in range(100):
            try:
                socket.create_connection(('127.0.0.1', port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit('the simulator did not start')
        proxy_port = free_port()
        proxy(proxy_port, port, counter)
        with tempfile.TemporaryDirectory() as tmp:
            plan = os.path.join(tmp, 'soak.toml')
            text = subprocess.run([sys.executable, os.path.join(root, 'scripts/big-plan.py'), '--small',
                                   '--interval', a.interval], check=True, capture_output=True, text=True).stdout
            text, n = re.subn(r'(?m)^(health = \{ url = )"\$\{sim\}(/sites/(prod|dr)/healthz)", timeout = "2s"',
                              rf'\1"http://127.0.0.1:{proxy_port}\2", timeout = "{2000 // TIME_SCALE}ms"', text)
            if n != 2:
                sys.exit('plans/demo.toml: the two health URLs or their 2s timeouts moved; update scripts/soak.py')
            open(plan, 'w').write(text)
            metrics = os.path.join(tmp, 'self.prom')
            env = dict(os.environ, TERM='xterm-256color', DRCOCKPIT_OPERATOR='soak', DRCOCKPIT_SIM_URL=url,
                       XDG_STATE_HOME=tmp, DRCOCKPIT_SELF_METRICS=metrics)
            started = time.monotonic()
            pid, fd = pty.fork()
            if pid == 0:
                import fcntl, struct, termios
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 50, 200, 0, 0))
                os.execvpe(a.bin, [a.bin, 'monitor', plan], env)
            pump = Pump(fd)
            pump.start()
            time.sleep(a.warmup)
            samples, end = [], started + MINUTES * 60
            def going():
                if a.until_counted:
                    return not samples or samples[-1]['rounds'] < TARGET_ROUNDS
                return time.monotonic() < end

            while going():
                if os.waitpid(pid, os.WNOHANG)[0] != 0:
                    sys.exit('FAIL: the cockpit exited during the soak')
                # A soak against a simulator that is gone measures an idle cockpit failing to
                # connect: fewer connections and tasks, so "no growth" would be a false pass.
                if sim.poll() is not None:
                    sys.exit(f'FAIL: the simulator exited during the soak (exit {sim.returncode})')
                s = sample(pid, metrics)
                s['rounds'] = min(counter.rounds().values())
                samples.append(s)
                write_csv(samples)
                time.sleep(a.sample)
            pump.stop.set()
            report(samples, pump.bytes, time.monotonic() - started, counter)
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


def write_csv(samples):
    """Rewritten at each sample, so a run cut short still leaves its figures."""
    if a.csv:
        with open(a.csv + '.tmp', 'w') as f:
            f.write('seconds,fds,threads,rss_kb,tasks,rounds\n')
            for s in samples:
                tasks = '' if s['tasks'] is None else s['tasks']
                f.write(f"{s['t'] - samples[0]['t']:.1f},{s['fds']},{s['threads']},{s['rss_kb']},{tasks},{s['rounds']}\n")
        os.replace(a.csv + '.tmp', a.csv)


def report(samples, screen_bytes, wall, counter):
    if len(samples) < 8:
        sys.exit('FAIL: too few samples; run longer')
    q = len(samples) // 4
    first, last = samples[:q], samples[-q:]
    rounds = counter.rounds()
    done = min(rounds.values())
    unit = a.interval
    ideal = wall * 1000 / INTERVAL_MS

    def rng(key, xs):
        return f"{min(s[key] for s in xs):,}–{max(s[key] for s in xs):,}"

    med = lambda key, xs: statistics.median(s[key] for s in xs)
    out = [f"| soak | value |", "|---|---|"]
    sized = (f"sized by `--rounds-equivalent {a.rounds_equivalent}`: {TARGET_ROUNDS:,.0f} rounds at the default "
             f"{DEFAULT_INTERVAL_MS / 1000:g} s × {unit} = {MINUTES:.1f} min; " if TARGET_ROUNDS else '')
    out.append(f"| run | {sized}{wall / 60:.1f} min of `monitor` at a {unit} probe interval against `{a.scenario}` "
               f"(at most {ideal:,.0f} rounds at that interval) |")
    out.append(f"| time scale | {TIME_SCALE}: the simulator's delays and stalls and the plan's health timeouts "
               f"1/{TIME_SCALE} as long, so {wall / 60:.1f} min is ≈ {wall * TIME_SCALE / 3600:.1f} h of "
               f"monitoring against the same faults |")
    out.append(f"| probe rounds done (counted at the proxy: requests to each site's health URL) | prod {rounds['prod']:,}, "
               f"DR {rounds['dr']:,}: ≈ {done * DEFAULT_INTERVAL_MS / 3_600_000:.1f} h of monitoring at the default "
               f"{DEFAULT_INTERVAL_MS / 1000:g} s"
               + (f" ({done / TARGET_ROUNDS:.0%} of the {TARGET_ROUNDS:,.0f} sized for)" if TARGET_ROUNDS else '') + " |")
    fams = ', '.join(f"{k} {v:,}" for k, v in counter.families().items())
    out.append(f"| requests through the proxy (health only) | {fams}; proxy errors {counter.errors} |")
    out.append(f"| samples | {len(samples)} every {a.sample:g} s after a {a.warmup:g} s warm-up; "
               f"screen output read: {screen_bytes / 1e6:.1f} MB |")
    for key, name in (('fds', 'file descriptors'), ('threads', 'threads'), ('rss_kb', 'RSS (KiB)')):
        out.append(f"| {name}: first quarter / last quarter | {rng(key, first)} (median {med(key, first):,g}) / "
                   f"{rng(key, last)} (median {med(key, last):,g}) |")
    tasked = lambda xs: [x for x in xs if x['tasks'] is not None]
    tf, tl = tasked(first), tasked(last)
    if tf and tl:
        out.append(f"| tokio tasks alive (`DRCOCKPIT_SELF_METRICS`): first quarter / last quarter | {rng('tasks', tf)} "
                   f"(median {med('tasks', tf):,g}) / {rng('tasks', tl)} (median {med('tasks', tl):,g}) |")
    else:
        out.append("| tokio tasks alive | no sample: the cockpit wrote no `DRCOCKPIT_SELF_METRICS` file |")
    out.append(f"| peak RSS (VmHWM) | {samples[-1]['hwm_kb']:,} KiB |")
    fails = []
    if max(s['fds'] for s in last) > max(s['fds'] for s in first) + FD_SLACK:
        fails.append('file descriptors grew')
    if max(s['threads'] for s in last) > max(s['threads'] for s in first) + THREAD_SLACK:
        fails.append('threads grew')
    if not (tf and tl):
        fails.append('tasks not sampled')
    elif min(x['tasks'] for x in tl) > max(x['tasks'] for x in tf) + TASK_SLACK:
        fails.append('tasks grew')
    if med('rss_kb', last) > med('rss_kb', first) + RSS_SLACK_KB:
        fails.append('RSS grew')
    if done == 0:
        fails.append('no probe round reached the simulator')
    # The proxy's errors are failures to reach the simulator (its injected faults are answers,
    # passed on): beyond a stray one, the rounds measured were not against the scenario.
    proxied = sum(counter.rounds().values())
    if counter.errors > max(1, proxied // 100):
        fails.append(f'{counter.errors} of {proxied} health requests never reached the simulator')
    out.append('')
    out.append('FAIL: ' + ', '.join(fails) if fails else 'no growth: PASS')
    text = '\n'.join(out)
    print(text)
    if a.summary:
        with open(a.summary, 'w') as f:
            f.write(text + '\n')
    if fails:
        sys.exit(1)

main()
