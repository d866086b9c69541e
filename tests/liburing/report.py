#!/usr/bin/env python3
"""report.py DIR SUITE PATCHED-KREL PRISTINE-KREL TIMEOUT GUEST-SECS TOTAL-SECS

Compare upstream liburing's suite on our test kernel (DIR/guest-patched.clean,
DIR/patched.checks) with the same run on the kernel built from the pristine
source (DIR/guest-unpatched.*), as tests/liburing/run.sh left them.  Writes
DIR/report.md (a table of every test on both kernels) and prints a summary.

Exit status 1 when a test passes on the pristine kernel and not on ours, when
a test of the suite has no result in our guest, or when our guest failed a
kernel check (finished, no splat, no kmemleak leak); else 0.  Results that
are the same on both kernels are upstream's and do not fail the run."""
import os
import re
import sys

LINE = re.compile(r'zcg-liburing: (pass|skip|fail|timeout) (\S+) (\d+) s rc=(\d+)')
OUT = re.compile(r'zcg-liburing-out: (\S+): (.*)')


def read_run(d, kind):
    res, out = {}, {}
    with open(os.path.join(d, f'guest-{kind}.clean'), errors='replace') as f:
        text = f.read()
    for m in LINE.finditer(text):
        res[m.group(2)] = (m.group(1), int(m.group(3)), int(m.group(4)))
    for m in OUT.finditer(text):
        out.setdefault(m.group(1), []).append(m.group(2))
    m = re.search(r'zcg-liburing: running (\d+) tests', text)
    planned = int(m.group(1)) if m else None
    done = 'zcg-liburing: done' in text
    with open(os.path.join(d, f'{kind}.checks')) as f:
        checks = [l.rstrip('\n') for l in f]
    return res, out, planned, done, checks


def counts(res):
    c = {k: 0 for k in ('pass', 'skip', 'fail', 'timeout')}
    for r, _, _ in res.values():
        c[r] += 1
    return c


def main():
    d, suite, kpatched, kpristine, tmo, gsecs, tsecs = sys.argv[1:8]
    pres, pout, pplan, pdone, pchecks = read_run(d, 'patched')
    ures, _, uplan, udone, uchecks = read_run(d, 'unpatched')
    names = sorted(set(pres) | set(ures))
    problems = []
    regress = [n for n in names
               if ures.get(n, ('none',))[0] == 'pass' and pres.get(n, ('none',))[0] != 'pass']
    for n in regress:
        problems.append(f'{n}: passes on {kpristine}, '
                        f'{pres[n][0] if n in pres else "no result"} on {kpatched}')
    if not pdone or pplan is None or len(pres) != pplan:
        problems.append(f'{kpatched}: {len(pres)} results of {pplan} tests planned'
                        f'{"" if pdone else ", the run did not finish"}')
    if not uchecks or not pchecks:
        problems.append('kernel checks missing')
    for l in pchecks:
        if l.startswith('zcg-test: FAIL'):
            problems.append(f'{kpatched}: {l[len("zcg-test: FAIL "):]}')
    notes = [f'{kpristine}: {l[len("zcg-test: FAIL "):]}' for l in uchecks
             if l.startswith('zcg-test: FAIL')]
    if not udone or uplan is None or len(ures) != uplan:
        notes.append(f'{kpristine}: {len(ures)} results of {uplan} tests planned')
    better = [n for n in names
              if pres.get(n, ('none',))[0] == 'pass' and ures.get(n, ('none',))[0] != 'pass']

    pc, uc = counts(pres), counts(ures)
    summ = lambda c: ', '.join(f'{c[k]} {k}' for k in ('pass', 'skip', 'fail', 'timeout'))
    verdict = 'FAIL' if problems else 'PASS'
    lines = [
        f'# {suite}: our test kernel against the pristine source',
        '',
        f'`make test-liburing`: upstream {suite}\'s own test suite (built from the '
        'pinned release tarball, not the fork), one test at a time with a '
        f'{tmo} s limit as `make runtests` runs it, in two QEMU TCG guests side by side '
        f'(guests {gsecs} s, whole run {tsecs} s): `{kpatched}` (our series) and '
        f'`{kpristine}` (the same configuration, debug options included, from the '
        'pristine source).',
        '',
        f'**{verdict}**: {len(regress)} tests pass on the pristine kernel and not on ours.',
        '',
        '| kernel | tests | results |',
        '| --- | ---: | --- |',
        f'| `{kpatched}` | {len(pres)} | {summ(pc)} |',
        f'| `{kpristine}` | {len(ures)} | {summ(uc)} |',
        '',
    ]
    if problems:
        lines += ['Problems:', ''] + [f'- {p}' for p in problems] + ['']
    if notes:
        lines += ['On the pristine kernel (not counted):', ''] + [f'- {p}' for p in notes] + ['']
    if better:
        lines += ['Pass on ours only: ' + ', '.join(f'`{n}`' for n in better), '']
    diff = [n for n in names if pres.get(n, ('none',))[0] != ures.get(n, ('none',))[0]]
    lines += ['Kernel checks of our guest: ' + '; '.join(
        l.replace('zcg-test: ', '') for l in pchecks if l.startswith('zcg-test: ')), '']
    lines += ['Kernel checks of the pristine guest: ' + '; '.join(
        l.replace('zcg-test: ', '') for l in uchecks if l.startswith('zcg-test: ')), '']
    lines += [f'Tests whose result differs between the kernels: {len(diff)}'
              + (' (' + ', '.join(f'`{n}`' for n in diff) + ')' if diff else ''), '']
    lines += ['## Every test that did not pass on both kernels', '',
              '| test | ours | pristine | ours: output (last lines) |',
              '| --- | --- | --- | --- |']
    for n in names:
        p = pres.get(n, ('none', 0, 0))
        u = ures.get(n, ('none', 0, 0))
        if p[0] == 'pass' and u[0] == 'pass':
            continue
        o = ' / '.join(pout.get(n, [])[-3:]).replace('|', '\\|')[:200]
        lines.append(f'| `{n}` | {p[0]} ({p[1]} s, rc {p[2]}) | {u[0]} ({u[1]} s, rc {u[2]}) | {o} |')
    lines += ['', f'The other {sum(1 for n in names if pres.get(n, ("",))[0] == "pass" and ures.get(n, ("",))[0] == "pass")} '
              'tests pass on both kernels.', '']
    with open(os.path.join(d, 'report.md'), 'w') as f:
        f.write('\n'.join(lines))
    print(f'liburing-suite: {kpatched}: {summ(pc)}')
    print(f'liburing-suite: {kpristine}: {summ(uc)}')
    for p in problems:
        print(f'liburing-suite: problem: {p}')
    for p in notes:
        print(f'liburing-suite: pristine kernel: {p}')
    print(f'liburing-suite: {verdict}, {len(regress)} regressions (report: {os.path.join(d, "report.md")})')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
