#!/usr/bin/env python3
"""Precopy throughput of vmig over loopback TCP, against loopback itself.

For each guest size (default 1G and 4G) this starts a source vmig, fills
all of its guest RAM with incompressible data (the guest workload with
content=random, walking RAM sequentially), idles the workload, starts a
destination with -incoming on 127.0.0.1, migrates with max-bandwidth=0
(no limit) and reads the result from query-migrate.  It then sends the
same number of bytes through a plain 127.0.0.1 TCP connection between
two processes, which is what the link can do on this machine, and
reports vmig's throughput as a share of that: once from a cache-hot
4 MiB buffer into another, and once memory to memory (from an N-GiB
buffer into another, as a migration reads and writes guest RAM).

    scripts/bench/precopy.py build
    scripts/bench/precopy.py build --sizes 1G --repeat 3 --out bench.md

Python standard library only.  Not part of the test suite: it needs a
few GiB of free memory (source + destination = twice the guest) and
tens of seconds.  See docs/benchmarks.md.
"""

import argparse
import datetime
import json
import os
import shutil
import sys
import tempfile
import time

from benchlib import (GiB, MiB, PAGE, TIMEOUT, Machine, QmpError, emit,
                      loopback_once, machine_description, mem_available,
                      on_free_port, parse_size, size_name, wait_migration)

VCPUS = 2


def config_value(text):
    """A KEY=VALUE value as the JSON QMP wants: on/off are booleans,
    numbers (with K/M/G suffixes) integers, anything else a string."""
    if text in ('on', 'true'):
        return True
    if text in ('off', 'false'):
        return False
    try:
        return parse_size(text)
    except ValueError:
        return text


def fill_ram(src, size, vcpus=VCPUS):
    """Has every one of the @vcpus vCPUs overwrite its share of guest RAM
    with random data, then idles the workload: the guest runs but dirties
    nothing."""
    share = -(-size // PAGE // vcpus)
    deadline = time.monotonic() + TIMEOUT
    while True:
        info = src.cmd('x-query-workload')
        if all(v['writes'] >= share for v in info['vcpus']):
            break
        if time.monotonic() > deadline:
            raise RuntimeError('filling guest RAM took too long')
        time.sleep(0.05)
    src.cmd('x-workload-set', rate=0)


def start_destination(build, tmpdir, size, prealloc):
    return on_free_port(lambda port: Machine(
        os.path.join(build, 'vmig'), tmpdir, 'dst',
        ['-m', str(size // MiB), '-smp', str(VCPUS), '-S',
         '-incoming', 'tcp:127.0.0.1:%d' % port] +
        # As libvirt's immediate allocation: the first touch of each
        # page is not the link's cost.
        (['-mem-prealloc'] if prealloc else [])))


def migrate_once(build, size, config, verify, prealloc, cpu=None,
                 prepare=None, logs=None):
    """One migration of a filled @size guest; returns query-migrate's
    final answer.  A dict @cpu gets the CPU seconds (all threads, user
    plus system) each end spent during the migration, under 'source' and
    'destination'.  @prepare, if given, is called with the source just
    before it migrates.  A dict @logs gets each end's stderr, under
    'source' and 'destination', once both have stopped."""
    tmpdir = tempfile.mkdtemp(prefix='vmig-bench-')
    machines = []
    try:
        src = Machine(os.path.join(build, 'vmig'), tmpdir, 'src',
                      ['-m', str(size // MiB), '-smp', str(VCPUS),
                       '-workload', 'rate=64G,pattern=sequential,'
                       'content=random,seed=7'])
        machines.append(src)
        fill_ram(src, size)
        dst, port = start_destination(build, tmpdir, size, prealloc)
        machines.append(dst)
        if prepare:
            prepare(src)
        before = (src.cpu_seconds(), dst.cpu_seconds())
        src.cmd('migrate', uri='tcp:127.0.0.1:%d' % port, config=config)
        info = wait_migration(src)
        if cpu is not None:
            cpu['source'] = src.cpu_seconds() - before[0]
            cpu['destination'] = dst.cpu_seconds() - before[1]
        if info['status'] != 'completed':
            raise RuntimeError('migration %s: %s'
                               % (info['status'], info.get('error-desc')))
        if verify:
            # Both are paused now: the source in postmigrate, the
            # destination by -S.
            if src.cmd('x-query-vm-digest') != dst.cmd('x-query-vm-digest'):
                raise RuntimeError('source and destination differ')
        return info
    finally:
        for m in reversed(machines):
            m.stop()
        if logs is not None:
            for m, name in zip(machines, ('source', 'destination')):
                logs[name] = m.log_text()
        shutil.rmtree(tmpdir, ignore_errors=True)


def bench(args):
    config = {'max-bandwidth': 0}
    for kv in args.config:
        key, _, value = kv.partition('=')
        config[key] = config_value(value)

    rows = []
    for size in args.sizes:
        need = 2 * size + 256 * MiB
        if mem_available() < need:
            print('skipping %s: needs %.1f GiB of free memory'
                  % (size_name(size), need / GiB), file=sys.stderr)
            continue
        runs = []
        for i in range(args.repeat):
            print('%s: migration %d of %d...' % (size_name(size), i + 1,
                                                  args.repeat),
                  file=sys.stderr, flush=True)
            runs.append(migrate_once(args.build, size, config,
                                     not args.no_verify,
                                     not args.no_prealloc))
        # The median run by total time stands for the size.
        runs.sort(key=lambda r: r['total-time'])
        info = runs[len(runs) // 2]
        sent = info['ram']['transferred']
        print('%s: loopback, %d bytes...' % (size_name(size), sent),
              file=sys.stderr, flush=True)
        # The best of three: the link's limit, not its bad moments.
        loop = min(loopback_once(sent) for _ in range(3))
        print('%s: loopback memory to memory, %d bytes...'
              % (size_name(size), sent), file=sys.stderr, flush=True)
        loop_mem = min(loopback_once(sent, memory=True) for _ in range(3))
        secs = info['total-time'] / 1000
        rows.append({
            'size': size_name(size),
            'sent': sent,
            'total-ms': info['total-time'],
            'setup-ms': info.get('setup-time', 0),
            'downtime-ms': info.get('downtime', 0),
            'iterations': info['ram'].get('iteration', 0),
            'vmig': sent / secs / GiB,
            'loopback': sent / loop / GiB,
            'loopback-mem': sent / loop_mem / GiB,
        })
    return config, rows


def markdown(config, rows, args):
    date = datetime.datetime.now(datetime.timezone.utc)
    opts = ', '.join('%s=%s' % (k, json.dumps(v)) for k, v in config.items())
    out = [
        '%s, %s.' % (date.strftime('%Y-%m-%d %H:%M UTC'),
                     machine_description()),
        '',
        'Precopy over loopback TCP, %d vCPUs, idle guest with RAM full of '
        'random data, config {%s}, destination %s; %s per size%s.'
        % (VCPUS, opts,
           'without -mem-prealloc' if args.no_prealloc
           else 'with -mem-prealloc',
           'median of %d runs' % args.repeat if args.repeat > 1
           else 'one run',
           '' if args.no_verify else ', digests checked equal'),
        '',
        '| guest | transferred | total time | setup | downtime | iterations '
        '| vmig | loopback TCP, 4 MiB buffer | vmig / that '
        '| loopback TCP, memory to memory | vmig / that |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: '
        '| ---: | ---: |',
    ]
    for r in rows:
        out.append('| %s | %.2f GiB | %.2f s | %d ms | %d ms | %d | '
                   '%.2f GiB/s | %.2f GiB/s | %.0f%% | %.2f GiB/s | %.0f%% |'
                   % (r['size'], r['sent'] / GiB, r['total-ms'] / 1000,
                      r['setup-ms'], r['downtime-ms'], r['iterations'],
                      r['vmig'], r['loopback'],
                      100 * r['vmig'] / r['loopback'],
                      r['loopback-mem'],
                      100 * r['vmig'] / r['loopback-mem']))
    return '\n'.join(out) + '\n'


def main():
    ap = argparse.ArgumentParser(
        description='Precopy throughput of vmig over loopback TCP, '
                    'compared with loopback TCP itself.')
    ap.add_argument('build', nargs='?', default='build',
                    help='the meson build directory (default: build)')
    ap.add_argument('--sizes', default='1G,4G',
                    type=lambda s: [parse_size(x) for x in s.split(',')],
                    help='guest sizes, comma-separated (default: 1G,4G)')
    ap.add_argument('--repeat', type=int, default=1,
                    help='migrations per size; the median is reported')
    ap.add_argument('--config', action='append', default=[],
                    metavar='KEY=VALUE',
                    help='another migration option (e.g. multifd=on); '
                         'repeatable')
    ap.add_argument('--no-verify', action='store_true',
                    help='do not compare the digests after migrating')
    ap.add_argument('--no-prealloc', action='store_true',
                    help='start the destination without -mem-prealloc, so '
                         'the first touch of each page is in the figures')
    ap.add_argument('--out', help='also write the table to this file')
    args = ap.parse_args()

    if not os.access(os.path.join(args.build, 'vmig'), os.X_OK):
        ap.error('%s/vmig not found: build first' % args.build)
    if any(s % (VCPUS * PAGE) for s in args.sizes):
        ap.error('sizes must be multiples of %d bytes' % (VCPUS * PAGE))

    try:
        config, rows = bench(args)
    except (QmpError, RuntimeError, OSError) as e:
        sys.exit('precopy.py: %s' % e)
    if not rows:
        sys.exit('nothing measured')
    emit(markdown(config, rows, args), args.out)


if __name__ == '__main__':
    main()
