#!/usr/bin/env python3
"""Cut tests/fixtures/qovery-openapi-subset.json out of the full Qovery OpenAPI spec.

Why: the contract tests must not read anything outside the repository (issue 17), and the full
spec is 1 MB of YAML. The subset keeps, unchanged, every (method, path) the client calls
(`ENDPOINTS` in src/clients/qovery/mod.rs) with its whole operation object, the path-level
parameters of those paths, any other operation whose parameters they borrow by `$ref`, and every
component (schema, parameter, response, request body,
security scheme) they reference, transitively. Nothing is rewritten, so a `$ref` in the subset
resolves exactly as in the full spec; tests/fixtures/qovery/extract_schemas.py accepts the subset
as well as the full spec.

Usage: scripts/qovery-openapi-subset.py FULL_SPEC.yaml > tests/fixtures/qovery-openapi-subset.json
(the project's copy of the full spec is shared/reference/qovery-openapi.yaml, Qovery API 1.0.4,
from Qovery/qovery-openapi-spec openapi.yaml @ 651aed53ce272a6fb6ec695a68b06dcd55170092).
"""
import hashlib, json, os, re, sys, yaml

path = sys.argv[1]
raw = open(path, 'rb').read()
spec = yaml.safe_load(raw)
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
src = open(os.path.join(root, 'src/clients/qovery/mod.rs')).read()
block = src.split('pub const ENDPOINTS', 1)[1].split('];', 1)[0]
endpoints = re.findall(r'\(\s*"([A-Z]+)",\s*"([^"]+)",?\s*\)', block)
if not endpoints:
    sys.exit('no ENDPOINTS found in src/clients/qovery/mod.rs')


def refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == '$ref' and isinstance(v, str):
                yield v
            else:
                yield from refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs(v)


paths = {}
for method, p in endpoints:
    item = spec['paths'][p]
    out = paths.setdefault(p, {k: v for k, v in item.items() if k == 'parameters'})
    out[method.lower()] = item[method.lower()]

def unescape(token):
    return token.replace('%7B', '{').replace('%7D', '}').replace('~1', '/').replace('~0', '~')


components = {}
todo = list(refs(paths)) + ['#/components/securitySchemes/' + n for s in spec.get('security', []) for n in s]
while todo:
    r = todo.pop()
    if r.startswith('#/paths/'):
        # A parameter borrowed from another operation: keep that whole operation, unchanged,
        # so the pointer resolves as in the full spec.
        p, verb = [unescape(t) for t in r[len('#/paths/'):].split('/')[:2]]
        if verb not in paths.get(p, {}):
            node = spec['paths'][p][verb]
            paths.setdefault(p, {})[verb] = node
            todo.extend(refs(node))
        continue
    if not r.startswith('#/components/'):
        sys.exit(f'unsupported $ref {r}')
    kind, name = r[len('#/components/'):].split('/', 1)
    if name in components.get(kind, {}):
        continue
    node = spec['components'][kind][name]
    components.setdefault(kind, {})[name] = node
    todo.extend(refs(node))

subset = {
    'x-drcockpit-source': (
        f'Cut by scripts/qovery-openapi-subset.py from the Qovery OpenAPI spec {spec["info"]["version"]} '
        f'(sha256 {hashlib.sha256(raw).hexdigest()}): the {len(endpoints)} operations the client calls '
        '(ENDPOINTS in src/clients/qovery/mod.rs) and every component they reference, unchanged.'
    ),
    'openapi': spec['openapi'],
    'info': {k: spec['info'][k] for k in ('title', 'version')},
    'servers': spec.get('servers', []),
    'security': spec.get('security', []),
    'paths': paths,
    'components': {k: dict(sorted(v.items())) for k, v in sorted(components.items())},
}
json.dump(subset, sys.stdout, indent=1, ensure_ascii=False)
sys.stdout.write('\n')
