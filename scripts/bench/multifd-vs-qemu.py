#!/usr/bin/python3
"""vmig against QEMU: the same guest RAM migrated by both, in one run.

Each content kind (random, text, half-zero) is written once into a file
on tmpfs.  A paused source vmig and a paused source QEMU
(qemu-system-x86_64 -accel tcg) in turn map that very file as their
guest RAM (memory-backend-file, share=on) and migrate it over
127.0.0.1 to a destination of their own kind whose RAM is a new,
preallocated file; afterwards the destination's file must hash equal to
the content.  Every scenario (precopy, multifd with N channels, with
zstd or zlib) is repeated, the two programs alternating, and reported as
medians with the ratio vmig / QEMU, next to loopback TCP and memcpy
measured in the same run.

    scripts/bench/setup-qemu-bench          # QEMU and matplotlib (Debian)
    scripts/bench/multifd-vs-qemu.py build --out-dir /tmp/bench

A scenario a program cannot run (vmig without multifd, say) is reported
as failed, with the reason, and the run goes on.  Not part of the test
suite.  See docs/benchmarks.md.

It runs with Debian's /usr/bin/python3, for which setup-qemu-bench
installs matplotlib; the rest is the standard library.
"""

import argparse
import ctypes
import ctypes.util
import datetime
import hashlib
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import (GiB, MiB, PAGE, TIMEOUT, Machine, QmpError,
                      check_programs, git_commit, loopback_once,
                      machine_description, on_free_port, qemu_migrate_tcp,
                      qemu_version, require_memory, size_name,
                      vs_qemu_arguments, wait_migration)

CHUNK = 16 * MiB                # content is generated and hashed in chunks
LEVEL = 1                       # zlib and zstd level, both programs' default
TOOLS = ('vmig', 'qemu')
TOOL_NAMES = {'vmig': 'vmig', 'qemu': 'QEMU'}
CONTENTS = ('random', 'text', 'half-zero')
CONTENT_TITLES = {
    'random': 'random (incompressible, no zero page)',
    'text': 'text (text-like, compressible)',
    'half-zero': 'half-zero (every other page zero, the others random)',
}
DEFAULT_SCENARIOS = 'precopy,multifd-2,multifd-4,multifd-2-zstd,multifd-2-zlib'


# ---- content ----------------------------------------------------------

def random_chunks(rng, size):
    for _ in range(size // CHUNK):
        yield rng.randbytes(CHUNK)


def half_zero_chunks(rng, size):
    """Random pages alternating with zero pages: each program's zero page
    detection is exercised page by page."""
    for _ in range(size // CHUNK):
        data = rng.randbytes(CHUNK // 2)
        chunk = bytearray(CHUNK)
        for i in range(CHUNK // PAGE // 2):
            chunk[2 * i * PAGE:(2 * i + 1) * PAGE] = \
                data[i * PAGE:(i + 1) * PAGE]
        yield bytes(chunk)


def text_chunks(rng, size):
    """Sentences of made-up words, common words more frequent (1/rank):
    compressible about as much as prose, but with no long repeat that a
    compressor could find in one page or one packet."""
    syllables = [c + v for c in 'bcdfghklmnprstvwz' for v in 'aeiouy']
    words = [''.join(rng.choices(syllables, k=rng.randint(1, 4)))
             for _ in range(4000)]
    weights = [1 / (rank + 1) for rank in range(len(words))]
    sentences = []
    for _ in range(16384):
        sentence = ' '.join(rng.choices(words, weights, k=rng.randint(4, 16)))
        sentences.append(sentence.capitalize() +
                         rng.choice(('. ', '. ', ', ', '.\n')))
    mean = sum(map(len, sentences)) / len(sentences)
    for _ in range(size // CHUNK):
        text = ''.join(rng.choices(sentences, k=int(CHUNK / mean * 1.1)))
        while len(text) < CHUNK:
            text += rng.choice(sentences)
        yield text[:CHUNK].encode()


GENERATORS = {'random': random_chunks, 'text': text_chunks,
              'half-zero': half_zero_chunks}


def write_content(kind, path, size):
    """Writes @size bytes of content @kind to @path (the same bytes every
    time: the generator is seeded with the kind's name); returns their
    sha256."""
    rng = random.Random('vmig-bench-' + kind)
    digest = hashlib.sha256()
    with open(path, 'wb') as f:
        for chunk in GENERATORS[kind](rng, size):
            digest.update(chunk)
            f.write(chunk)
    return digest.hexdigest()


def file_sha256(path, size):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        left = size
        while left:
            chunk = f.read(min(left, CHUNK))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


# ---- scenarios ----------------------------------------------------------

def parse_scenario(name):
    """'precopy' or 'multifd-N[-zstd|-zlib]' to (channels, compression);
    channels 0 is precopy on one stream."""
    if name == 'precopy':
        return 0, 'none'
    m = re.fullmatch(r'multifd-(\d+)(?:-(zstd|zlib))?', name)
    if not m or not 1 <= int(m.group(1)) <= 255:
        raise ValueError('unknown scenario %r (precopy, multifd-N, '
                         'multifd-N-zstd or multifd-N-zlib)' % name)
    return int(m.group(1)), m.group(2) or 'none'


def multifd_options(channels, compression):
    """The multifd settings both programs take under the same names."""
    if not channels:
        return {}
    opts = {'multifd-channels': channels, 'multifd-compression': compression}
    if compression != 'none':
        opts['multifd-%s-level' % compression] = LEVEL
    return opts


def backend(path, size, prealloc):
    return ('memory-backend-file,id=ram0,size=%d,mem-path=%s,share=on%s'
            % (size, path.replace(',', ',,'),
               ',prealloc=on' if prealloc else ''))


class Vmig:
    def __init__(self, args):
        self.binary = os.path.join(args.build, 'vmig')

    def ram_args(self, path, size, prealloc):
        return ['-m', '%dM' % (size // MiB), '-S', '-object',
                backend(path, size, prealloc),
                '-machine', 'memory-backend=ram0']

    def start(self, tmpdir, content, dst_ram, size, prealloc, src_args=(),
              dst_args=(), incoming=''):
        """@src_args and @dst_args go on either command line, and
        @incoming after -incoming's address (tls.py adds credentials)."""
        src = Machine(self.binary, tmpdir, 'vmig-src',
                      self.ram_args(content, size, False) + list(src_args))
        try:
            # The destination needs no migration options: the source's
            # arrive in the handshake.
            dst, port = on_free_port(lambda port: Machine(
                self.binary, tmpdir, 'vmig-dst',
                self.ram_args(dst_ram, size, prealloc) + list(dst_args) +
                ['-incoming', 'tcp:127.0.0.1:%d%s' % (port, incoming)]))
        except Exception:
            src.stop()
            raise
        return src, dst, port

    def migrate(self, src, dst, port, channels, compression, extra=None):
        config = {'max-bandwidth': 0}       # 0: no limit
        if channels:
            config['multifd'] = True
            config.update(multifd_options(channels, compression))
        config.update(extra or {})
        src.cmd('migrate', uri='tcp:127.0.0.1:%d' % port, config=config)


class Qemu:
    def __init__(self, args):
        self.binary = args.qemu

    def ram_args(self, path, size, prealloc):
        return ['-machine', 'pc,memory-backend=ram0', '-accel', 'tcg',
                '-nodefaults', '-no-user-config', '-display', 'none', '-S',
                '-m', '%dM' % (size // MiB), '-object',
                backend(path, size, prealloc)]

    def start(self, tmpdir, content, dst_ram, size, prealloc, src_args=(),
              dst_args=()):
        src = Machine(self.binary, tmpdir, 'qemu-src',
                      self.ram_args(content, size, False) + list(src_args))
        try:
            dst = Machine(self.binary, tmpdir, 'qemu-dst',
                          self.ram_args(dst_ram, size, prealloc) +
                          list(dst_args) + ['-incoming', 'defer'])
        except Exception:
            src.stop()
            raise
        return src, dst, None

    def migrate(self, src, dst, port, channels, compression):
        for m in (src, dst):
            m.cmd('migrate-set-capabilities', capabilities=[
                {'capability': 'multifd', 'state': bool(channels)}])
            if channels:
                m.cmd('migrate-set-parameters',
                      **multifd_options(channels, compression))
        qemu_migrate_tcp(src, dst)


def loopback_bytes():
    """Bytes sent over this network namespace's loopback interface so
    far: the difference over a migration is what went over the wire,
    counted the same way for both programs (TCP/IP headers included).
    /proc/net, unlike /sys/class/net, is the reader's own namespace."""
    with open('/proc/net/dev') as f:
        for line in f:
            name, _, counters = line.partition(':')
            if name.strip() == 'lo':
                return int(counters.split()[8])     # transmit bytes
    raise RuntimeError('no loopback interface in /proc/net/dev')


def own_netns_argv():
    """The command that runs this script again in a network namespace of
    its own, or None where one cannot be made.  There the loopback
    counters see nothing but the benchmark, and no other program takes
    its ports."""
    if not shutil.which('unshare') or not shutil.which('ip'):
        return None
    unshare = ['unshare', '--net'] + \
        (['--map-root-user'] if os.geteuid() else [])
    if subprocess.run(unshare + ['true'], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode:
        return None
    # The new namespace's lo is down until brought up.
    return unshare + ['sh', '-c', 'ip link set lo up && exec "$@"', 'sh',
                      sys.executable, os.path.abspath(__file__)] + \
        sys.argv[1:] + ['--in-own-netns']


def wait_incoming(dst, timeout=TIMEOUT):
    """Waits for the destination to have loaded everything: it leaves
    'inmigrate' for its paused state."""
    deadline = time.monotonic() + timeout
    while dst.cmd('query-status')['status'] == 'inmigrate':
        if dst.proc.poll() is not None:
            raise RuntimeError('the destination exited: %s' % dst.log_text())
        if time.monotonic() > deadline:
            raise RuntimeError('the destination did not finish loading')
        time.sleep(0.02)


def migrate_once(tool, args, tmp, content, content_sha, scenario):
    """One migration of @content (a file of args.size bytes) by @tool;
    returns its figures or {'error': why}."""
    channels, compression = parse_scenario(scenario)
    tmpdir = tempfile.mkdtemp(prefix='run-', dir=tmp)
    dst_ram = os.path.join(tmpdir, 'dst.ram')
    machines = []
    try:
        src, dst, port = tool.start(tmpdir, content, dst_ram, args.size,
                                    not args.no_prealloc)
        machines = [src, dst]
        cpu = src.cpu_seconds() + dst.cpu_seconds()
        wire = loopback_bytes()
        tool.migrate(src, dst, port, channels, compression)
        info = wait_migration(src)
        if info['status'] != 'completed':
            raise RuntimeError('migration %s: %s'
                               % (info['status'], info.get('error-desc')))
        wait_incoming(dst)
        # Both processes idle from here: what they used is the
        # migration's (both ends, every thread).
        cpu = src.cpu_seconds() + dst.cpu_seconds() - cpu
        wire = loopback_bytes() - wire
        for m in machines:
            m.stop()
        if not args.no_verify and \
                file_sha256(dst_ram, args.size) != content_sha:
            raise RuntimeError("the destination's RAM differs from the "
                               "content")
        if not info.get('total-time'):
            raise RuntimeError('query-migrate reported no total-time: %s'
                               % info)
        return {'time': info['total-time'] / 1000,
                'cpu': cpu,
                'wire': wire,
                'downtime': info.get('downtime', 0)}
    except (QmpError, RuntimeError, OSError) as e:
        return {'error': str(e)}
    finally:
        for m in machines:
            m.stop()
        shutil.rmtree(tmpdir, ignore_errors=True)


# ---- limits ------------------------------------------------------------

def memcpy_rate(nbytes=256 * MiB, runs=5):
    """GiB/s of one libc memcpy between two @nbytes buffers (far larger
    than any cache), the best of @runs."""
    libc = ctypes.CDLL(ctypes.util.find_library('c'))
    libc.memcpy.restype = ctypes.c_void_p
    libc.memcpy.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    src = ctypes.create_string_buffer(nbytes)
    dst = ctypes.create_string_buffer(nbytes)
    # Touch every page first: the copy is to measure, not page faults.
    ctypes.memset(src, 0x5a, nbytes)
    ctypes.memset(dst, 0, nbytes)
    best = None
    for _ in range(runs):
        start = time.perf_counter()
        libc.memcpy(dst, src, nbytes)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return nbytes / best / GiB


def loopback_rate(nbytes, memory=False):
    """GiB/s of one 127.0.0.1 TCP connection: from one cache-hot buffer,
    or with @memory from and into buffers as large as the guest (what a
    migration does: the pages are in no cache)."""
    return nbytes / loopback_once(nbytes, memory=memory) / GiB


# ---- the run -----------------------------------------------------------

def bench(args, tmp):
    tools = {'vmig': Vmig(args), 'qemu': Qemu(args)}
    results = {}                # (content, scenario, tool) -> [run]
    limits = {'loopback': [], 'loopback-mem': [], 'memcpy': []}
    content = os.path.join(tmp, 'content.ram')
    shas = {}
    for kind in args.contents:
        print('%s: writing %s of content...' % (kind, size_name(args.size)),
              file=sys.stderr, flush=True)
        shas[kind] = write_content(kind, content, args.size)
        for rep in range(args.repeat):
            # The two programs alternate, and which goes first changes
            # from one repetition to the next.
            order = args.tools if rep % 2 == 0 else args.tools[::-1]
            for scenario in args.scenarios:
                for name in order:
                    print('%s, %s, %s: run %d of %d...'
                          % (kind, scenario, TOOL_NAMES[name], rep + 1,
                             args.repeat), file=sys.stderr, flush=True)
                    run = migrate_once(tools[name], args, tmp, content,
                                       shas[kind], scenario)
                    if 'error' in run:
                        print('  failed: %s' % run['error'],
                              file=sys.stderr, flush=True)
                    else:
                        print('  %.3f s, %.2f CPU s' % (run['time'],
                                                        run['cpu']),
                              file=sys.stderr, flush=True)
                    results.setdefault((kind, scenario, name), []).append(run)
            limits['loopback'].append(loopback_rate(args.size))
            limits['loopback-mem'].append(loopback_rate(args.size, True))
            limits['memcpy'].append(memcpy_rate())
        os.unlink(content)
    return results, limits, shas


def summarize(runs, size):
    """Medians of the runs that worked, or None; and the errors."""
    ok = [r for r in runs if 'error' not in r]
    errors = [r['error'] for r in runs if 'error' in r]
    if not ok:
        return None, errors
    t = statistics.median(r['time'] for r in ok)
    return {'rate': size / GiB / t, 'time': t,
            'cpu': statistics.median(r['cpu'] for r in ok) / (size / GiB),
            'wire': statistics.median(r['wire'] for r in ok),
            'runs': len(ok)}, errors


def markdown(args, results, limits, date):
    loop = statistics.median(limits['loopback'])
    loop_mem = statistics.median(limits['loopback-mem'])
    mcpy = statistics.median(limits['memcpy'])
    out = [
        '# vmig and QEMU migrating the same guest RAM',
        '',
        '%s, %s.' % (date.strftime('%Y-%m-%d %H:%M UTC'),
                     machine_description()),
        'vmig at commit %s (%s); %s.'
        % (git_commit(), args.build, qemu_version(args.qemu)),
        '',
        'Guest: %s of RAM in a memory-backend-file (share=on) on %s, the '
        'same file for the source of both programs; each destination maps '
        'a new file%s.  Both ends paused (-S): nothing dirties memory.  '
        'QEMU: -machine pc -accel tcg.  Over 127.0.0.1 TCP, no bandwidth '
        'limit, zlib and zstd at level %d.  %s; the programs alternate '
        'within each repetition.%s'
        % (size_name(args.size), args.tmp_dir,
           '' if args.no_prealloc else ' with prealloc=on', LEVEL,
           'Median of %d runs' % args.repeat if args.repeat > 1
           else 'One run',
           '' if args.no_verify else '  After every run the destination\'s '
           'RAM file was checked to hash equal to the content.'),
        '',
        'Throughput is guest RAM / total time (the source\'s query-migrate '
        'total-time); CPU is user + system time of both processes during '
        'the migration, per GiB of guest RAM; wire is what the loopback '
        'interface carried meanwhile, TCP/IP headers included (%s; QEMU '
        '7.2\'s own ram.transferred counts multifd pages before '
        'compression).  vmig / QEMU above 1 means vmig is faster '
        '(throughput) or slower / costlier (time, CPU).'
        % ('in the machine\'s namespace: other programs\' loopback traffic '
           'included' if args.shared_netns else
           'in a network namespace of the benchmark\'s own'),
        '',
        'Limits measured in the same run (median of %d): loopback TCP '
        '%.2f GiB/s (one connection, one cache-hot 4 MiB buffer), '
        '%.2f GiB/s memory to memory (one connection, from and into '
        'buffers of the guest\'s size), memcpy %.2f GiB/s (one thread, '
        '256 MiB buffers).' % (len(limits['loopback']), loop, loop_mem,
                               mcpy),
    ]
    failures = {}               # (tool, error) -> [(kind, scenario, n)]
    for kind in args.contents:
        out += ['', '## %s' % CONTENT_TITLES[kind], '',
                '| scenario | vmig GiB/s | QEMU GiB/s | vmig / QEMU '
                '| vmig time | QEMU time | vmig / QEMU '
                '| vmig CPU s/GiB | QEMU CPU s/GiB | vmig / QEMU '
                '| vmig wire | QEMU wire |',
                '| --- |' + ' ---: |' * 11]
        for scenario in args.scenarios:
            cells = {}
            for name in TOOLS:
                runs = results.get((kind, scenario, name))
                if runs is None:
                    cells[name] = None
                    continue
                med, errors = summarize(runs, args.size)
                for e in sorted(set(errors)):
                    failures.setdefault((name, e), []).append(
                        '%s %s (%d of %d)' % (kind, scenario,
                                              errors.count(e), len(runs)))
                cells[name] = med if med else 'failed'

            def fmt(name, key, form):
                c = cells[name]
                if c is None:
                    return 'not run'
                if c == 'failed':
                    return 'failed'
                return form % (c[key] / GiB if key == 'wire' else c[key])

            def rat(key, form):
                a, b = cells['vmig'], cells['qemu']
                if isinstance(a, dict) and isinstance(b, dict):
                    return form % (a[key] / b[key])
                return '-'
            out.append('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s '
                       '| %s | %s |' % (
                           scenario,
                           fmt('vmig', 'rate', '%.2f'),
                           fmt('qemu', 'rate', '%.2f'), rat('rate', '%.2f'),
                           fmt('vmig', 'time', '%.2f s'),
                           fmt('qemu', 'time', '%.2f s'), rat('time', '%.2f'),
                           fmt('vmig', 'cpu', '%.2f'),
                           fmt('qemu', 'cpu', '%.2f'), rat('cpu', '%.2f'),
                           fmt('vmig', 'wire', '%.2f GiB'),
                           fmt('qemu', 'wire', '%.2f GiB')))
    if failures:
        out += ['', 'Failed runs (a median stands on the runs that worked):',
                '']
        for (name, error), where in sorted(failures.items()):
            out.append('- %s, %s: %s' % (TOOL_NAMES[name], ', '.join(where),
                                         error))
    return '\n'.join(out) + '\n'


# ---- plots -------------------------------------------------------------

def plot(args, results, limits, path, key, ylabel, title, with_limits):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    loop = statistics.median(limits['loopback'])
    loop_mem = statistics.median(limits['loopback-mem'])
    mcpy = statistics.median(limits['memcpy'])
    colors = {'vmig': '#1f77b4', 'qemu': '#ff7f0e'}
    width = 0.38
    fig, axes = plt.subplots(1, len(args.contents), squeeze=False,
                             figsize=(4.2 * len(args.contents) + 0.6, 4.6))
    values = {}
    for kind in args.contents:
        for scenario in args.scenarios:
            for name in args.tools:
                med, _ = summarize(results.get((kind, scenario, name), []),
                                   args.size)
                values[kind, scenario, name] = med[key] if med else None
    top = max([v for v in values.values() if v] +
              [max(loop, loop_mem) if with_limits else 0] + [1e-9])
    for ax, kind in zip(axes[0], args.contents):
        xs = range(len(args.scenarios))
        for i, name in enumerate(args.tools):
            offset = (i - (len(args.tools) - 1) / 2) * width
            for x, scenario in zip(xs, args.scenarios):
                v = values[kind, scenario, name]
                if v is None:
                    ax.text(x + offset, top * 0.02, 'failed', rotation=90,
                            ha='center', va='bottom', fontsize=8,
                            color=colors[name])
                else:
                    ax.bar(x + offset, v, width, color=colors[name])
                    ax.text(x + offset, v, '%.2f' % v, ha='center',
                            va='bottom', fontsize=7)
        if with_limits:
            ax.axhline(loop, color='gray', linestyle='--', linewidth=1)
            ax.text(len(args.scenarios) - 0.5, loop,
                    'loopback TCP %.2f' % loop, ha='right', va='bottom',
                    fontsize=8, color='gray')
            ax.axhline(loop_mem, color='green', linestyle='-.',
                       linewidth=1)
            ax.text(-0.5, loop_mem, 'memory to memory %.2f' % loop_mem,
                    ha='left', va='bottom', fontsize=8, color='green')
            # memcpy is usually far above the bars: drawn only if it
            # fits, otherwise named at the top.
            if mcpy <= top * 1.3:
                ax.axhline(mcpy, color='black', linestyle=':', linewidth=1)
                ax.text(len(args.scenarios) - 0.5, mcpy,
                        'memcpy %.2f' % mcpy, ha='right', va='bottom',
                        fontsize=8)
                top = max(top, mcpy)
            else:
                ax.text(0.5, 0.98, 'memcpy %.2f GiB/s (off the scale)'
                        % mcpy, transform=ax.transAxes, ha='center',
                        va='top', fontsize=8)
        ax.set_ylim(0, top * 1.25)
        ax.set_xticks(list(xs))
        ax.set_xticklabels(args.scenarios, rotation=30, ha='right',
                           fontsize=8)
        ax.set_title(kind)
        ax.grid(axis='y', alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors[n])
               for n in args.tools]
    fig.legend(handles, [TOOL_NAMES[n] for n in args.tools],
               loc='upper right', ncol=len(args.tools))
    fig.suptitle('%s, %s guest, median of %d' % (title, size_name(args.size),
                                                 args.repeat))
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---- main --------------------------------------------------------------

def main():
    ap = vs_qemu_arguments('vmig and QEMU migrating the same guest RAM over '
                           'loopback TCP, precopy and multifd.')
    ap.add_argument('--repeat', type=int, default=3,
                    help='runs per scenario and program; medians are '
                         'reported (default: 3)')
    ap.add_argument('--scenarios', default=DEFAULT_SCENARIOS,
                    type=lambda s: s.split(','),
                    help='comma-separated: precopy, multifd-N, '
                         'multifd-N-zstd, multifd-N-zlib (default: %s)'
                    % DEFAULT_SCENARIOS)
    ap.add_argument('--contents', default=','.join(CONTENTS),
                    type=lambda s: s.split(','),
                    help='comma-separated content kinds (default: %s)'
                    % ','.join(CONTENTS))
    ap.add_argument('--tools', default=','.join(TOOLS),
                    type=lambda s: s.split(','),
                    help='which programs to run (default: vmig,qemu)')
    ap.add_argument('--out-dir', default='.',
                    help='where multifd-vs-qemu.md and the PNG plots go '
                         '(default: .)')
    ap.add_argument('--no-prealloc', action='store_true',
                    help='destinations without prealloc=on')
    ap.add_argument('--no-verify', action='store_true',
                    help="do not hash the destination's RAM after each run")
    ap.add_argument('--no-plots', action='store_true',
                    help='only the Markdown table')
    ap.add_argument('--shared-netns', action='store_true',
                    help="stay in the machine's network namespace (the "
                         'wire figures then count all loopback traffic)')
    ap.add_argument('--in-own-netns', action='store_true',
                    help=argparse.SUPPRESS)
    args = ap.parse_args()

    for s in args.scenarios:
        try:
            parse_scenario(s)
        except ValueError as e:
            ap.error(str(e))
    for c in args.contents:
        if c not in CONTENTS:
            ap.error('unknown content %r (%s)' % (c, ', '.join(CONTENTS)))
    if not args.tools or any(t not in TOOLS for t in args.tools):
        ap.error('--tools: vmig and/or qemu')
    if args.size <= 0 or args.size % CHUNK:
        ap.error('the size must be a multiple of %d MiB' % (CHUNK // MiB))
    if args.repeat < 1:
        ap.error('--repeat must be at least 1')
    check_programs(ap, args)
    if not args.no_plots:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            ap.error('matplotlib not found for %s: run scripts/bench/'
                     'setup-qemu-bench (Debian\'s python3-matplotlib is '
                     'for /usr/bin/python3), or give --no-plots'
                     % sys.executable)
    # The content file and one destination's file, plus the processes.
    require_memory(2 * args.size + 512 * MiB, 'multifd-vs-qemu.py')

    if not args.shared_netns and not args.in_own_netns:
        argv = own_netns_argv()
        if argv:
            sys.stdout.flush()
            os.execvp(argv[0], argv)
        print('no network namespace of its own (unshare --net failed): the '
              'wire figures count all loopback traffic', file=sys.stderr)
        args.shared_netns = True

    os.makedirs(args.out_dir, exist_ok=True)
    date = datetime.datetime.now(datetime.timezone.utc)
    start = time.monotonic()
    tmp = tempfile.mkdtemp(prefix='vmig-vs-qemu-', dir=args.tmp_dir)
    try:
        results, limits, _ = bench(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    text = markdown(args, results, limits, date)
    md = os.path.join(args.out_dir, 'multifd-vs-qemu.md')
    with open(md, 'w') as f:
        f.write(text)
    sys.stdout.write(text)
    written = [md]
    if not args.no_plots:
        for name, key, ylabel, title, lim in (
                ('throughput', 'rate', 'GiB/s of guest RAM',
                 'Migration throughput', True),
                ('cpu', 'cpu', 'CPU seconds per GiB (both ends)',
                 'CPU cost', False)):
            path = os.path.join(args.out_dir, 'multifd-vs-qemu-%s.png' % name)
            plot(args, results, limits, path, key, ylabel, title, lim)
            written.append(path)
    print('wrote %s in %.0f s' % (', '.join(written),
                                  time.monotonic() - start), file=sys.stderr)


if __name__ == '__main__':
    main()
