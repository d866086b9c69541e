#!/usr/bin/env python3
# mapcmp.py BASE.map NEW.map: check that NEW keeps every version node of
# BASE unchanged (same global and local symbols, same parent) and that any
# node it adds is a vendor node, not an upstream-looking LIBURING_2.x one.
# Prints the differences; exits 1 if there are any.
import re
import sys


def parse(path):
    text = open(path).read()
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    text = re.sub(r'#[^\n]*', ' ', text)
    nodes = {}
    for m in re.finditer(r'([A-Za-z0-9_.]+)\s*\{(.*?)\}\s*([A-Za-z0-9_.]*)\s*;',
                         text, flags=re.S):
        name, body, parent = m.group(1), m.group(2), m.group(3)
        scope, syms = 'global', {'global': set(), 'local': set()}
        for tok in re.findall(r'[^\s;]+:?', body):
            if tok in ('global:', 'local:'):
                scope = tok[:-1]
            else:
                syms[scope].add(tok.rstrip(';'))
        nodes[name] = (frozenset(syms['global']), frozenset(syms['local']), parent)
    return nodes


base, new = parse(sys.argv[1]), parse(sys.argv[2])
errors = []
if not base:
    errors.append('no version node found in %s' % sys.argv[1])
for name, val in base.items():
    if name not in new:
        errors.append('upstream node %s was removed' % name)
    elif new[name] != val:
        g0, l0, p0 = val
        g1, l1, p1 = new[name]
        errors.append('upstream node %s changed: +%s -%s parent %s->%s' % (
            name, sorted((g1 | l1) - (g0 | l0)), sorted((g0 | l0) - (g1 | l1)), p0, p1))
for name, (_, _, parent) in new.items():
    if name in base:
        continue
    if re.match(r'LIBURING_\d', name):
        errors.append('new node %s looks like an upstream node' % name)
    if parent and parent not in new:
        errors.append('new node %s inherits from unknown %s' % (name, parent))
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
