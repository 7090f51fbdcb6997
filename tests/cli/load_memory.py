#!/usr/bin/env python3
# Peak memory of `descent train` loading data files (issue 11 item 3): the loaders read in
# chunks straight into the final tensors, so a file is held once. Bounds, with S the file size:
#   NPY in its own dtype        peak RSS <= 1.1 S + 50 MB  (a second copy of the data fails it)
#   NPY converted (f4 -> f64)   peak RSS <= S + the converted X and y + 50 MB
#   CSV                         peak RSS <= 2 x the parsed numbers (n (d+1) 8 bytes) + 50 MB
# The NPY bound holds for a narrow file too (2 columns, 200 MB): on the cpu the intercept is
# implicit, so X is the file's feature column and no ones column more (which would make it
# 1.5 S, over the bound above S = 125 MB).
#   python3 tests/cli/load_memory.py /path/to/descent
# What is bounded is the data's share of the peak: the child's anonymous resident memory
# (RssAnon, sampled every millisecond; a second copy of a 64 MB file lasts far longer) above
# what the same binary holds training 10 rows. A CPU-only build holds about 1 MB then, and its
# whole peak RSS (printed too, from wait4) meets the bounds as they stand; a CUDA build links
# cuBLAS and cuSOLVER eagerly (some 200 MB of relocated library pages, until the CUDA backend
# is loaded on first use), which the data's share leaves aside. The files are written with
# the standard library (no numpy needed) into a temporary directory, removed at the end.
# Exits 77 (skipped) when DESCENT_TEST_SANITIZED=1: AddressSanitizer changes RSS.
import array
import os
import random
import struct
import subprocess
import sys
import tempfile
import time

MB = 1_000_000


def write_npy(path, rows, cols, code):
    """A 2-D C-order '<f8' ('d') or '<f4' ('f') array as np.save writes it (format 1.0)."""
    descr = {'d': '<f8', 'f': '<f4'}[code]
    d = "{'descr': '%s', 'fortran_order': False, 'shape': (%d, %d), }" % (descr, rows, cols)
    header = d + ' ' * ((64 - (10 + len(d) + 1) % 64) % 64) + '\n'
    rng = random.Random(1)
    block_rows = 1000  # rows repeat in blocks: fast to write, values are what matters least
    block = array.array(code)
    for _ in range(block_rows):
        x = [rng.uniform(-1, 1) for _ in range(cols - 1)]
        block.extend(x + [0.5 * sum(x) + 2])
    with open(path, 'wb') as f:
        f.write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(header)) + header.encode())
        for _ in range(rows // block_rows):
            block.tofile(f)
        block[:(rows % block_rows) * cols].tofile(f)


def write_csv(path, rows, cols):
    rng = random.Random(2)
    lines = []
    for _ in range(1000):
        x = [rng.uniform(-1, 1) for _ in range(cols - 1)]
        lines.append(','.join('%.6f' % v for v in x + [0.5 * sum(x) + 2]) + '\n')
    with open(path, 'w') as f:
        f.write(','.join('x%d' % j for j in range(cols - 1)) + ',y\n')
        text = ''.join(lines)
        for _ in range(rows // 1000):
            f.write(text)
        f.write(''.join(lines[:rows % 1000]))


def anon_rss(pid):
    """The process's resident anonymous memory in bytes (RssAnon), or None once it is gone."""
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('RssAnon:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def run_measured(cmd, skip_start=0.0):
    """Runs cmd; returns (exit status, stderr, peak RSS from wait4, peak RssAnon sampled every
    millisecond after the first skip_start seconds)."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        start, peak_anon = time.monotonic(), 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid != 0:
                break
            if time.monotonic() - start >= skip_start:
                anon = anon_rss(proc.pid)
                if anon is not None:
                    peak_anon = max(peak_anon, anon)
            time.sleep(0.001)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        err.seek(0)
        return (proc.returncode, err.read().decode(errors='replace'), usage.ru_maxrss * 1024,
                peak_anon)


def baseline_anon(cmd):
    """RssAnon of a run without data once it trains: what the binary itself holds (its
    start-up, when a CUDA build's libraries initialise and peak briefly higher, is skipped)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        return anon_rss(proc.pid) or 0
    finally:
        proc.kill()
        proc.wait()


def main():
    if len(sys.argv) != 2 or not os.access(sys.argv[1], os.X_OK):
        print('usage: load_memory.py /path/to/descent', file=sys.stderr)
        return 2
    if os.environ.get('DESCENT_TEST_SANITIZED') == '1':
        print('skipped: RSS under AddressSanitizer is not the program\'s')
        return 77
    descent = sys.argv[1]
    failures = 0
    with tempfile.TemporaryDirectory(prefix='descent-load-memory.') as work:
        cols = 17  # 16 features + target
        f8_rows, f4_rows, csv_rows, csv_cols = 940_000, 940_000, 470_000, 9
        narrow_rows = 12_500_000  # 1 feature + target, f8: 200 MB
        f8, f4, csv, narrow = (os.path.join(work, n)
                               for n in ('a.npy', 'b.npy', 'c.csv', 'narrow.npy'))
        write_npy(f8, f8_rows, cols, 'd')
        write_npy(f4, f4_rows, cols, 'f')
        write_csv(csv, csv_rows, csv_cols)
        write_npy(narrow, narrow_rows, 2, 'd')
        tiny = os.path.join(work, 'tiny.csv')
        write_csv(tiny, 10, csv_cols)

        # X (rows, cols - 1 + 1 ones column) and y (rows): --ones-column auto keeps the column
        # of these files (under 32 MiB + 8%); it leaves the 200 MB narrow file's implicit.
        def xy_bytes(rows, cols, item):
            return rows * (cols + 1) * item

        s8, s4, sn = os.path.getsize(f8), os.path.getsize(f4), os.path.getsize(narrow)
        cases = [
            # name, file, extra flags, bound in bytes, what the bound is
            ('npy f8 as f64', f8, [], 1.1 * s8 + 50 * MB, '1.1 S + 50 MB'),
            ('npy f4 as f32', f4, ['--dtype', 'f32'], 1.1 * s4 + 50 * MB, '1.1 S + 50 MB'),
            ('npy f4 as f64', f4, [], s4 + xy_bytes(f4_rows, cols, 8) + 50 * MB,
             'S + converted + 50 MB'),
            ('npy f8 as f32', f8, ['--dtype', 'f32'], s8 + xy_bytes(f8_rows, cols, 4) + 50 * MB,
             'S + converted + 50 MB'),
            ('csv as f64', csv, [], 2 * csv_rows * csv_cols * 8 + 50 * MB,
             '2 x parsed numbers + 50 MB'),
            ('npy 2 columns', narrow, [], 1.1 * sn + 50 * MB, '1.1 S + 50 MB'),
        ]
        base = [descent, 'train', '--quiet', '--device', 'cpu']
        baseline = baseline_anon(base + ['--data', tiny, '--epochs', '100000000'])
        print('     the binary without data: %.1f MB of anonymous memory' % (baseline / MB))
        if baseline <= 0:
            print('FAIL could not read the baseline from /proc')
            failures += 1
        for name, path, flags, bound, why in cases:
            rc, err, peak, anon = run_measured(base + ['--data', path, '--epochs', '1'] + flags)
            data = anon - baseline  # what loading and training this file added
            # A CPU-only build holds next to nothing without data: its whole peak meets the
            # bound too, as the issue states it.
            whole_ok = baseline > 50 * MB or peak <= bound
            ok = rc == 0 and data <= bound and whole_ok
            failures += not ok
            print('%-4s %-14s file %6.1f MB  data %6.1f MB  bound %6.1f MB (%s)  '
                  '[peak RSS %.1f MB]%s' %
                  ('ok' if ok else 'FAIL', name, os.path.getsize(path) / MB, data / MB,
                   bound / MB, why, peak / MB,
                   '' if rc == 0 else '  exit %d: %s' % (rc, err.strip())))
    print('%d passed, %d failed' % (len(cases) - failures, failures))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
