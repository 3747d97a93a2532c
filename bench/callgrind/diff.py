#!/usr/bin/env python3
"""Where two callgrind runs of bench/callgrind/run.sh differ, per request and per function.

    python3 bench/callgrind/diff.py [--inclusive] [--by-name] A.1-01 N_A B.1-01 N_B [TOP]

A and B are the files run.sh names, N their request counts. JIT code is named
through V8's perf map (written beside each file): '*' optimized, '^' baseline
(Sparkplug), '~' interpreted. Self instructions, so an inlined function counts
in its caller; with --inclusive, each function with all it calls (a recursive
one or a shared builtin then counts more than once, so those rows do not add
up: read them as 'this path costs about'). With --by-name, JavaScript
functions match by file and name without line and column, so a function that
moved between two commits is one row (anonymous functions of one file then
share a row).
"""
import bisect
import re
import subprocess
import sys


def load(cg, n, inclusive=False, by_name=False):
    ranges = []
    for line in open(cg.rsplit('.1-', 1)[0] + '.map'):
        parts = line.split(' ', 2)
        if len(parts) == 3:
            ranges.append((int(parts[0], 16), int(parts[1], 16), parts[2].strip()))
    ranges.sort()
    starts = [r[0] for r in ranges]
    out = subprocess.run(['callgrind_annotate', f"--inclusive={'yes' if inclusive else 'no'}", '--threshold=100', cg], capture_output=True, text=True).stdout
    per_fn, started = {}, False
    for line in out.splitlines():
        if 'file:function' in line:
            started = True
            continue
        m = re.match(r'\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(.*)$', line) if started else None
        if not m:
            continue
        name = re.sub(r' \[[^]]*\]$', '', m.group(2).strip())
        addr = re.match(r'\?\?\?:0x([0-9a-f]+)', name)
        if addr:
            a = int(addr.group(1), 16)
            i = bisect.bisect_right(starts, a) - 1
            known = i >= 0 and a < ranges[i][0] + ranges[i][1]
            # Paths and columns stripped, so the same function matches across runs.
            name = 'JIT ' + re.sub(r'(file://)?/[^ ]*/(node_modules/)?', '', ranges[i][2]) if known else 'JIT ?'
            if by_name:
                name = re.sub(r':\d+:\d+$', '', name)
        per_fn[name] = per_fn.get(name, 0) + int(m.group(1).replace(',', '')) / n
    return per_fn


def main():
    args = sys.argv[1:]
    inclusive = '--inclusive' in args
    if inclusive:
        args.remove('--inclusive')
    by_name = '--by-name' in args
    if by_name:
        args.remove('--by-name')
    a, b = load(args[0], int(args[1]), inclusive, by_name), load(args[2], int(args[3]), inclusive, by_name)
    top = int(args[4]) if len(args) > 4 else 30
    if not inclusive:
        print(f'instructions/request: A {sum(a.values()):.0f}, B {sum(b.values()):.0f}')
    print(f"{'A - B':>8} {'A':>8} {'B':>8}  function")
    order = sorted(set(a) | set(b), key=lambda k: b.get(k, 0) - a.get(k, 0))
    for k in order[:top] + ['...'] + order[-top:]:
        if k == '...':
            print('     ...')
            continue
        print(f'{a.get(k, 0) - b.get(k, 0):8.0f} {a.get(k, 0):8.0f} {b.get(k, 0):8.0f}  {k[:110]}')


if __name__ == '__main__':
    main()
