#!/usr/bin/env python3
"""Write the demo plan at scale (issue 15, "Big environments") to stdout: plans/demo.toml with
`[images] services` listing the 500 images the simulator's `big` scenario serves (web, api, worker,
svc-003 … svc-499), and an optional probe interval (for the soak run).

Usage: scripts/big-plan.py [--interval 20ms] [--small] > PLAN.toml
  --small   keep the demo's three images (the soak run wants the flaky world, not the big one)
Then: drcockpit simulate --scenario big --listen 127.0.0.1:7400 &
      DRCOCKPIT_SIM_URL=http://127.0.0.1:7400 drcockpit status PLAN.toml
"""
import argparse, os, re, sys

ap = argparse.ArgumentParser()
ap.add_argument('--interval', help='the [probes] interval, e.g. 20ms')
ap.add_argument('--small', action='store_true')
a = ap.parse_args()
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
text = open(os.path.join(root, 'plans/demo.toml')).read()
if not a.small:
    names = ['web', 'api', 'worker'] + [f'svc-{k:03}' for k in range(3, 500)]
    listed = ',\n  '.join(', '.join(f'"{n}"' for n in names[i:i + 10]) for i in range(0, len(names), 10))
    text, n = re.subn(r'(?m)^services = \["web", "api", "worker"\]$', f'services = [\n  {listed},\n]', text)
    if n != 1:
        sys.exit('plans/demo.toml: the [images] services line moved; update scripts/big-plan.py')
if a.interval:
    text, n = re.subn(r'(?m)^(\[probes\]\ninterval = )"[^"]*"', rf'\1"{a.interval}"', text)
    if n != 1:
        sys.exit('plans/demo.toml: no [probes] interval line; update scripts/big-plan.py')
sys.stdout.write(text)
