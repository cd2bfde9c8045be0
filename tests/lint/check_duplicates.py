#!/usr/bin/python3
"""Finds copy-pasted code: runs of at least --min-lines identical statements in two places of
lib/, apps/, tests/ and bench/ (C++ sources). Lines are compared with whitespace removed; blank lines,
comments, braces and includes are ignored. Exit 1 when a run is found (0 with --report)."""
import argparse
import os
import re
import subprocess
import sys

TRIVIAL = re.compile(r'^(\}|\{|\};|\)|\);|\}\)|namespace.*|#include.*|#pragma.*|//.*|public:|private:|protected:|return;|break;|continue;|else|\}else\{|default:)$')


def sources(root):
    try:
        out = subprocess.run(['git', 'ls-files', 'lib', 'apps', 'tests', 'bench'], cwd=root, capture_output=True,
                             text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        out = [os.path.relpath(os.path.join(d, f), root) for top in ('lib', 'apps', 'tests', 'bench')
               for d, _, fs in os.walk(os.path.join(root, top)) for f in fs]
    return sorted(f for f in out if f.endswith(('.cpp', '.h')) and os.path.isfile(os.path.join(root, f)))


def statements(path):
    """(normalized line, line number) for the lines that count."""
    result = []
    with open(path, encoding='utf-8', errors='replace') as f:
        for number, line in enumerate(f, 1):
            s = re.sub(r'\s+', '', line)
            if s and not TRIVIAL.match(s):
                result.append((s, number))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--min-lines', type=int, default=10)
    parser.add_argument('--report', action='store_true', help='print findings but exit 0')
    parser.add_argument('root', nargs='?', default=os.environ.get('VOXSEG_SOURCE', '.'))
    args = parser.parse_args()
    n = args.min_lines
    files = {f: statements(os.path.join(args.root, f)) for f in sources(args.root)}
    seen = {}  # window of n statements -> (file, first line)
    found = []
    for name, lines in files.items():
        covered_until = -1  # report one finding per copied run, not one per window
        for i in range(len(lines) - n + 1):
            key = '\n'.join(s for s, _ in lines[i:i + n])
            first = seen.setdefault(key, (name, lines[i][1]))
            if first != (name, lines[i][1]) and i > covered_until:
                found.append(f'{name}:{lines[i][1]} repeats {first[0]}:{first[1]} ({n}+ statements)')
                covered_until = i + n - 1
    for f in found:
        print(f'duplicates: {f}')
    print(f'duplicates: {len(found)} copied run(s) of {n}+ statements in {len(files)} files')
    return 0 if args.report or not found else 1


if __name__ == '__main__':
    sys.exit(main())
