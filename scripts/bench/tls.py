#!/usr/bin/python3
"""What TLS costs a migration: vmig and QEMU 7.2, plaintext and TLS,
side by side in one run, beside the machine's AES-GCM single-core rate.

A paused guest whose RAM is a tmpfs file of random bytes (nothing to
skip, nothing to compress: the measurement is of the transport) is
migrated over 127.0.0.1 by vmig and by QEMU (qemu-system-x86_64 -accel
tcg), each scenario (precopy, multifd-N) plaintext and with TLS: x509
certificates made by tests/tls/tlscerts.py, tls-creds-x509 on both
ends with verify-peer on, tls-hostname localhost, the cipher gnutls
negotiates by default.  Runs are interleaved (every round runs every
case, in an order that alternates from one round to the next) and
reported as medians.  Each round also measures one core's AES-128-GCM
and AES-256-GCM rate with gnutls (aes-gcm-rate.c, built here with cc),
encrypt and decrypt.

    scripts/bench/setup-qemu-bench                  # QEMU, matplotlib
    flock /tmp/vmig-bench.lock scripts/bench/tls.py build --out t.md
    # short locked runs, tabled together:
    flock /tmp/vmig-bench.lock scripts/bench/tls.py build --repeat 1 \\
        --save a.json
    scripts/bench/tls.py --merge a.json b.json --out t.md --plot t.png

Not part of the test suite (tests/scripts/test-tls-bench.py checks the
arithmetic).  See docs/benchmarks.md.  Runs with Debian's
/usr/bin/python3 (matplotlib for --plot); the rest is the standard
library.
"""

import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import (MiB, QmpError, build_commit, check_programs, emit,
                      load_script,
                      machine_description, qemu_version, require_memory,
                      size_name, vs_qemu_arguments, wait_migration)

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = ('vmig', 'qemu')
TOOL_NAMES = {'vmig': 'vmig', 'qemu': 'QEMU 7.2'}
MODES = ('plain', 'tls')
CIPHERS = ('AES-128-GCM', 'AES-256-GCM')
DEFAULT_SCENARIOS = 'precopy,multifd-1,multifd-2,multifd-4'
CREDS = 'tls0'
HOSTNAME = 'localhost'          # in the fixture's server certificate
MB = 1e6
# Issue #13's targets, at this scenario.
TARGET_SCENARIO = 'multifd-2'
TARGET_VS_QEMU = 1.5
TARGET_VS_PLAIN = 0.70


# multifd-vs-qemu.py's content, scenarios and command lines; the
# certificate fixture the TLS tests use.
MVQ = load_script('multifd_vs_qemu', os.path.join(HERE, 'multifd-vs-qemu.py'))
TLSCERTS = load_script('tlscerts', os.path.join(
    HERE, '..', '..', 'tests', 'tls', 'tlscerts.py'))


def channels_of(scenario):
    """Streams that carry pages: precopy's one, or multifd's N."""
    return MVQ.parse_scenario(scenario)[0] or 1


# ---- the AES-GCM limit --------------------------------------------------

def build_aes_rate(tmp):
    """Compiles aes-gcm-rate.c into @tmp; returns the binary's path."""
    cflags = subprocess.run(['pkg-config', '--cflags', '--libs', 'gnutls'],
                            capture_output=True, text=True)
    if cflags.returncode:
        raise RuntimeError('pkg-config gnutls: %s' % cflags.stderr.strip())
    out = os.path.join(tmp, 'aes-gcm-rate')
    cc = subprocess.run(['cc', '-O2', '-Wall', '-Wextra', '-Werror', '-o',
                         out, os.path.join(HERE, 'aes-gcm-rate.c')] +
                        cflags.stdout.split(), capture_output=True, text=True)
    if cc.returncode:
        raise RuntimeError('cc aes-gcm-rate.c: %s' % cc.stderr.strip())
    return out


def parse_aes_rates(text):
    """aes-gcm-rate's lines to {(cipher, 'encrypt'|'decrypt'): MB/s}."""
    rates = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) != 3 or words[1] not in ('encrypt', 'decrypt'):
            raise ValueError('aes-gcm-rate: unexpected line %r' % line)
        rates[words[0], words[1]] = float(words[2])
    return rates


def aes_rates(binary, seconds=0.3):
    out = subprocess.run([binary, str(seconds)] + list(CIPHERS),
                         capture_output=True, text=True, timeout=60)
    if out.returncode:
        raise RuntimeError('aes-gcm-rate: %s' % out.stderr.strip())
    return parse_aes_rates(out.stdout)


def aes_bound(enc, dec, channels, cpus):
    """MB/s TLS can reach at most on this machine with @channels
    sessions, each one thread: a session encrypts on one core and its
    peer decrypts on one core, and both ends share @cpus cores."""
    return min(channels * min(enc, dec), cpus / (1 / enc + 1 / dec))


def cipher_of(tls_info):
    """The AES-GCM cipher named in query-migrate's 'tls' member, if
    any."""
    text = json.dumps(tls_info or {}).upper()
    for cipher in CIPHERS:
        if cipher in text or cipher.replace('-', '_') in text:
            return cipher
    return None


# ---- the two programs, plaintext or TLS ---------------------------------

def creds_object(folder, endpoint):
    return ['-object', 'tls-creds-x509,id=%s,dir=%s,endpoint=%s,'
            'verify-peer=on' % (CREDS, folder.replace(',', ',,'), endpoint)]


def creds_args(certs, tls):
    """The two ends' extra command-line arguments: (source's,
    destination's)."""
    if not tls:
        return [], []
    return (creds_object(certs.client, 'client'),
            creds_object(certs.server, 'server'))


def start_vmig(args, certs, tmpdir, content, dst_ram, tls):
    src_args, dst_args = creds_args(certs, tls)
    # Only the URI and the credentials on the destination: the source's
    # options arrive in the handshake.
    return MVQ.Vmig(args).start(tmpdir, content, dst_ram, args.size, True,
                                src_args, dst_args,
                                ',tls-creds=' + CREDS if tls else '')


def migrate_vmig(args, src, dst, port, channels, tls):
    MVQ.Vmig(args).migrate(src, dst, port, channels, 'none',
                           {'tls-creds': CREDS, 'tls-hostname': HOSTNAME}
                           if tls else None)


def start_qemu(args, certs, tmpdir, content, dst_ram, tls):
    src_args, dst_args = creds_args(certs, tls)
    return MVQ.Qemu(args).start(tmpdir, content, dst_ram, args.size, True,
                                src_args, dst_args)


def migrate_qemu(args, src, dst, port, channels, tls):
    # As libvirt does: the credentials by parameter on both ends, the
    # host name the source checks on the source.
    if tls:
        src.cmd('migrate-set-parameters', **{'tls-creds': CREDS,
                                             'tls-hostname': HOSTNAME})
        dst.cmd('migrate-set-parameters', **{'tls-creds': CREDS})
    MVQ.Qemu(args).migrate(src, dst, port, channels, 'none')


PROGRAMS = {'vmig': (start_vmig, migrate_vmig),
            'qemu': (start_qemu, migrate_qemu)}


def migrate_once(tool, mode, scenario, args, certs, tmp, content, sha):
    """One migration; returns its figures or {'error': why}."""
    channels = MVQ.parse_scenario(scenario)[0]
    tls = mode == 'tls'
    start, migrate = PROGRAMS[tool]
    tmpdir = tempfile.mkdtemp(prefix='run-', dir=tmp)
    dst_ram = os.path.join(tmpdir, 'dst.ram')
    machines = []
    try:
        src, dst, port = start(args, certs, tmpdir, content, dst_ram, tls)
        machines = [src, dst]
        cpu = src.cpu_seconds() + dst.cpu_seconds()
        migrate(args, src, dst, port, channels, tls)
        info = wait_migration(src)
        if info['status'] != 'completed':
            raise RuntimeError('migration %s: %s'
                               % (info['status'], info.get('error-desc')))
        MVQ.wait_incoming(dst)
        cpu = src.cpu_seconds() + dst.cpu_seconds() - cpu
        dst_info = dst.cmd('query-migrate') if tool == 'vmig' else {}
        for m in machines:
            m.stop()
        if not args.no_verify and MVQ.file_sha256(dst_ram, args.size) != sha:
            raise RuntimeError("the destination's RAM differs from the "
                               "source's")
        if not info.get('total-time'):
            raise RuntimeError('query-migrate reported no total-time')
        run = {'time': info['total-time'] / 1000, 'cpu': cpu}
        if tls and 'tls' in info:
            run['tls'] = info['tls']
        if tls and 'tls' in dst_info:
            run['tls-dst'] = dst_info['tls']
        return run
    except (QmpError, RuntimeError, OSError) as e:
        return {'error': str(e).splitlines()[0] if str(e) else repr(e)}
    finally:
        for m in machines:
            m.stop()
        shutil.rmtree(tmpdir, ignore_errors=True)


# ---- the run ------------------------------------------------------------

def cases(args):
    return [(s, m, t) for s in args.scenarios for m in args.modes
            for t in args.tools]


def bench(args, tmp, data):
    """Runs args.repeat rounds, appending to @data's 'runs' and 'aes'
    (saved after every run with --save)."""
    certs = TLSCERTS.make(os.path.join(tmp, 'certs'))
    aes = build_aes_rate(tmp)
    content = os.path.join(tmp, 'content.ram')
    print('writing %s of random content...' % size_name(args.size),
          file=sys.stderr, flush=True)
    sha = MVQ.write_content('random', content, args.size)
    for rnd in range(args.first_round, args.first_round + args.repeat):
        # First, so that a round cut short by a time limit has it.
        rates = aes_rates(aes)
        data['aes'].append({'%s %s' % k: v for k, v in rates.items()})
        save(args, data)
        order = cases(args)
        if rnd % 2:
            order.reverse()
        for scenario, mode, tool in order:
            print('round %d: %s %s %s...' % (rnd + 1, TOOL_NAMES[tool],
                                            scenario, mode),
                  file=sys.stderr, flush=True)
            # The machine is shared: how busy it was goes with the run.
            load = os.getloadavg()[0]
            run = migrate_once(tool, mode, scenario, args, certs, tmp,
                               content, sha)
            run['load'] = load
            print('  ' + (('failed: ' + run['error']) if 'error' in run else
                          '%.0f MB/s' % (args.size / MB / run['time'])),
                  file=sys.stderr, flush=True)
            run.update(tool=tool, mode=mode, scenario=scenario, round=rnd)
            data['runs'].append(run)
            save(args, data)


def save(args, data):
    if args.save:
        with open(args.save, 'w') as f:
            json.dump(data, f, indent=1)


def merge(paths):
    """The runs and AES rates of saved runs, rounds renumbered so that
    they stay apart."""
    out = None
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        if out is None:
            out = dict(data, runs=[], aes=[])
        base = max((r['round'] for r in out['runs']), default=-1) + 1
        for run in data['runs']:
            out['runs'].append(dict(run, round=run['round'] + base))
        out['aes'] += data['aes']
        out['date'] = min(out['date'], data['date'])
        out['end'] = max(out.get('end', ''), data.get('end', ''))
    return out


# ---- the report ---------------------------------------------------------

def medians(data):
    """{(tool, mode, scenario): {'rate': MB/s, 'cpu': CPU s per GB,
    'runs': n, 'of': m}} over the runs that worked."""
    out = {}
    groups = {}
    for run in data['runs']:
        groups.setdefault((run['tool'], run['mode'], run['scenario']),
                          []).append(run)
    for key, runs in groups.items():
        ok = [r for r in runs if 'error' not in r]
        if not ok:
            out[key] = {'runs': 0, 'of': len(runs)}
            continue
        t = statistics.median(r['time'] for r in ok)
        out[key] = {'rate': data['size'] / MB / t,
                    'cpu': statistics.median(r['cpu'] for r in ok) /
                    (data['size'] / 1e9),
                    'runs': len(ok), 'of': len(runs)}
    return out


def aes_medians(data):
    """{'CIPHER encrypt'|'CIPHER decrypt': median MB/s}."""
    keys = {k for a in data['aes'] for k in a}
    return {k: statistics.median(a[k] for a in data['aes'] if k in a)
            for k in keys}


def negotiated(data):
    """The distinct 'tls' members vmig reported, as JSON text."""
    seen = []
    for run in data['runs']:
        for key in ('tls', 'tls-dst'):
            if key in run:
                text = json.dumps(run[key], sort_keys=True)
                if text not in seen:
                    seen.append(text)
    return seen


def ratio(a, b):
    if a and b and 'rate' in a and 'rate' in b:
        return a['rate'] / b['rate']
    return None


def fmt_ratio(r, target=None):
    if r is None:
        return '-'
    if target is None:
        return '%.2f' % r
    return '%.2f %s' % (r, 'met' if r >= target else 'missed')


def fmt_rate(m, rounds):
    """MB/s, and how many of the rounds it stands on when not all (a
    run failed, or a round was cut short before it)."""
    if m is None:
        return 'not run'
    if 'rate' not in m:
        return 'failed'
    return '%.0f' % m['rate'] + ('' if m['runs'] == rounds
                                 else ' (%d of %d)' % (m['runs'], rounds))


def used_cipher(data):
    """The cipher the TLS figures are set against: the one vmig reported
    negotiating, else AES-256-GCM (gnutls's first choice by default)."""
    for run in data['runs']:
        c = cipher_of(run.get('tls'))
        if c:
            return c, True
    return 'AES-256-GCM', False


def markdown(data):
    med = medians(data)
    aes = aes_medians(data)
    cipher, reported = used_cipher(data)
    enc = aes.get(cipher + ' encrypt')
    dec = aes.get(cipher + ' decrypt')
    scenarios, tools = data['scenarios'], data['tools']
    rounds = len({r['round'] for r in data['runs']})
    out = [
        '# What TLS costs a migration: vmig and QEMU',
        '',
        '%s%s, %s.' % (data['date'], ' to ' + data['end'] if 'end' in data
                       else '', data['machine']),
        'vmig at commit %s; %s.' % (data['commit'], data['qemu-version']),
        '',
        'Guest: %s of random bytes in a memory-backend-file on tmpfs, '
        'paused at both ends (nothing dirtied, nothing to compress or '
        'skip); each destination maps a new preallocated file%s.  Over '
        '127.0.0.1 TCP, no bandwidth limit.  TLS: tls-creds-x509 on both '
        'ends from tests/tls/tlscerts.py (ECDSA P-256), verify-peer=on, '
        'tls-hostname %s, the default priority.  Median of %d rounds; '
        'each round runs every case, in an order reversed every other '
        'round; "(k of n)": a median of the k runs that worked out of n '
        'rounds.  Throughput is guest RAM / the source\'s total-time, in '
        'MB/s (10^6 B); CPU is both processes\' user + system time per GB '
        'of guest RAM.'
        % (size_name(data['size']),
           '' if data.get('no-verify') else ', hashed after every run to '
           'equal the source\'s content', HOSTNAME,
           rounds),
        '',
        'One core\'s AES-GCM rate with gnutls, measured in the same rounds '
        '(aes-gcm-rate.c: 16 KiB records, plaintext walking 256 MiB, per '
        'second of the thread\'s CPU time; median of %d): %s.'
        % (len(data['aes']), ', '.join(
            '%s %.0f / %.0f MB/s' % (c, aes.get(c + ' encrypt', 0),
                                     aes.get(c + ' decrypt', 0))
            for c in CIPHERS) + ' (encrypt / decrypt)'),
    ]
    loads = [r['load'] for r in data['runs'] if 'load' in r]
    if loads:
        out += ['', 'The machine\'s load average (1 minute) as runs started: '
                'median %.1f, from %.1f to %.1f, on %d CPUs.'
                % (statistics.median(loads), min(loads), max(loads),
                   data['cpus'])]
    seen = negotiated(data)
    if seen:
        out += ['', 'Negotiated, as vmig\'s query-migrate reports it: ' +
                '; '.join('`%s`' % s for s in seen) + '.']
    else:
        out += ['', 'vmig\'s query-migrate reported no `tls` member: the '
                'AES figures are set against %s, gnutls\'s first choice '
                'with the default priority.' % cipher]
    out += [
        '',
        '| scenario | vmig plain | vmig TLS | QEMU plain | QEMU TLS '
        '| vmig TLS / QEMU TLS | vmig TLS / plain | QEMU TLS / plain '
        '| vmig TLS / (core x channels) | vmig TLS / AES bound '
        '| vmig CPU s/GB plain, TLS | QEMU CPU s/GB plain, TLS |',
        '| --- |' + ' ---: |' * 11,
    ]
    for s in scenarios:
        m = {(t, mo): med.get((t, mo, s)) for t in TOOLS for mo in MODES}
        n = channels_of(s)
        vt = m['vmig', 'tls']
        core = bound = None
        if enc and dec and vt and 'rate' in vt:
            core = vt['rate'] / (n * enc)
            bound = vt['rate'] / aes_bound(enc, dec, n, data['cpus'])
        target = s == TARGET_SCENARIO

        def cpu(t):
            return ', '.join('%.2f' % m[t, mo]['cpu']
                             if m[t, mo] and 'cpu' in m[t, mo] else '-'
                             for mo in MODES)
        out.append('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s '
                   '| %s |' % (
                       s, fmt_rate(m['vmig', 'plain'], rounds),
                       fmt_rate(vt, rounds),
                       fmt_rate(m['qemu', 'plain'], rounds),
                       fmt_rate(m['qemu', 'tls'], rounds),
                       fmt_ratio(ratio(vt, m['qemu', 'tls']),
                                 TARGET_VS_QEMU if target else None),
                       fmt_ratio(ratio(vt, m['vmig', 'plain']),
                                 TARGET_VS_PLAIN if target else None),
                       fmt_ratio(ratio(m['qemu', 'tls'], m['qemu', 'plain'])),
                       fmt_ratio(core), fmt_ratio(bound),
                       cpu('vmig') if 'vmig' in tools else '-',
                       cpu('qemu') if 'qemu' in tools else '-'))
    out += [
        '',
        'Targets (#13, at %s): vmig TLS at least %.1fx QEMU\'s TLS, and '
        'TLS keeping at least %.0f%% of vmig\'s plaintext throughput.  '
        'core x channels: one core\'s %s encryption rate times the '
        'streams (precopy: one); AES bound: the least of that and what '
        '%d CPUs can do when each byte is encrypted on one and decrypted '
        'on another (CPUs / (1/encrypt + 1/decrypt)).'
        % (TARGET_SCENARIO, TARGET_VS_QEMU, TARGET_VS_PLAIN * 100, cipher,
           data['cpus'])]
    failures = {}
    for run in data['runs']:
        if 'error' in run:
            failures.setdefault((run['tool'], run['mode'], run['error']),
                                []).append(run['scenario'])
    if failures:
        out += ['', 'Failed runs (a median stands on the runs that worked):',
                '']
        for (tool, mode, error), where in sorted(failures.items()):
            out.append('- %s %s, %s: %s' % (
                TOOL_NAMES[tool], mode, ', '.join(
                    '%s x%d' % (s, where.count(s))
                    for s in dict.fromkeys(where)), error))
    return '\n'.join(out) + '\n'


def plot(data, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    med = medians(data)
    aes = aes_medians(data)
    cipher, _ = used_cipher(data)
    bars = [(t, mo) for t in data['tools'] for mo in MODES
            if mo in data['modes']]
    colors = {('vmig', 'plain'): '#9ecae1', ('vmig', 'tls'): '#1f77b4',
              ('qemu', 'plain'): '#fdd0a2', ('qemu', 'tls'): '#ff7f0e'}
    width = 0.8 / len(bars)
    fig, ax = plt.subplots(figsize=(8.5, 4.8))
    xs = range(len(data['scenarios']))
    top = 1
    for i, (t, mo) in enumerate(bars):
        offset = (i - (len(bars) - 1) / 2) * width
        for x, s in zip(xs, data['scenarios']):
            m = med.get((t, mo, s))
            if m and 'rate' in m:
                ax.bar(x + offset, m['rate'], width, color=colors[t, mo],
                       label='%s %s' % (TOOL_NAMES[t], mo) if x == 0 else None)
                ax.text(x + offset, m['rate'], '%.0f' % m['rate'],
                        ha='center', va='bottom', fontsize=7)
                top = max(top, m['rate'])
            else:
                ax.text(x + offset, 5, 'failed' if m else 'not run',
                        rotation=90, ha='center', va='bottom', fontsize=7)
    enc, dec = aes.get(cipher + ' encrypt'), aes.get(cipher + ' decrypt')
    if enc and dec:
        bounds = [aes_bound(enc, dec, channels_of(s), data['cpus'])
                  for s in data['scenarios']]
        # Drawn only where it does not flatten the bars.
        if max(bounds) <= 2 * top:
            for x, b in zip(xs, bounds):
                ax.plot([x - 0.45, x + 0.45], [b, b], color='black',
                        linestyle=':', linewidth=1)
            top = max(top, max(bounds))
            note = 'dotted: %s bound on %d CPUs' % (cipher, data['cpus'])
        else:
            note = '%s bound on %d CPUs: %s MB/s (off the scale)' % (
                cipher, data['cpus'], ', '.join('%.0f' % b for b in bounds))
        ax.text(len(xs) - 0.5, top * 1.04, note, ha='right', fontsize=8)
    ax.set_ylim(0, top * 1.15)
    ax.set_xticks(list(xs))
    ax.set_xticklabels(data['scenarios'])
    ax.set_ylabel('MB/s of guest RAM')
    ax.set_title('Plaintext and TLS, %s paused guest, median of %d rounds'
                 % (size_name(data['size']),
                    len({r['round'] for r in data['runs']})))
    ax.grid(axis='y', alpha=0.3)
    ax.legend(fontsize=8, loc='upper left')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---- main ---------------------------------------------------------------

def main():
    ap = vs_qemu_arguments('vmig and QEMU migrating the same paused guest, '
                           'plaintext and TLS, beside one core\'s AES-GCM '
                           'rate.')
    ap.add_argument('--repeat', type=int, default=3,
                    help='rounds; medians are reported (default: 3)')
    ap.add_argument('--scenarios', default=DEFAULT_SCENARIOS,
                    type=lambda s: s.split(','),
                    help='comma-separated precopy, multifd-N (default: %s)'
                    % DEFAULT_SCENARIOS)
    ap.add_argument('--first-round', type=int, default=0,
                    help='the number of the first round: the order of the '
                         'cases is reversed in odd rounds, so that runs '
                         'split in several invocations alternate too '
                         '(default: 0)')
    ap.add_argument('--modes', default=','.join(MODES),
                    type=lambda s: s.split(','),
                    help='plain and/or tls (default: both)')
    ap.add_argument('--tools', default=','.join(TOOLS),
                    type=lambda s: s.split(','),
                    help='vmig and/or qemu (default: both)')
    ap.add_argument('--no-verify', action='store_true',
                    help="do not hash the destination's RAM after each run")
    ap.add_argument('--out', help='also write the table to this file')
    ap.add_argument('--plot', metavar='PNG', help='draw the throughputs')
    ap.add_argument('--save', metavar='FILE',
                    help='write the runs to FILE (JSON) after every run')
    ap.add_argument('--merge', nargs='+', metavar='FILE',
                    help='run nothing: table the runs saved in these files')
    args = ap.parse_args()

    if args.merge:
        data = merge(args.merge)
    else:
        for s in args.scenarios:
            try:
                if MVQ.parse_scenario(s)[1] != 'none':
                    raise ValueError('compression is not what this measures')
            except ValueError as e:
                ap.error('--scenarios %s: %s' % (s, e))
        for name, values, known in (('--modes', args.modes, MODES),
                                    ('--tools', args.tools, TOOLS)):
            if not values or any(v not in known for v in values):
                ap.error('%s: %s' % (name, ' and/or '.join(known)))
        if args.repeat < 1:
            ap.error('--repeat must be at least 1')
        if args.size <= 0 or args.size % MVQ.CHUNK:
            ap.error('--size must be a multiple of %d MiB'
                     % (MVQ.CHUNK // MiB))
        check_programs(ap, args)
        if not TLSCERTS.have_certtool():
            ap.error('certtool not found: install gnutls-bin')
        require_memory(2 * args.size + 512 * MiB, 'tls.py')
        data = {'date': datetime.datetime.now(datetime.timezone.utc)
                .strftime('%Y-%m-%d %H:%M UTC'),
                'machine': machine_description(), 'cpus': os.cpu_count(),
                'commit': build_commit(args.build, 'tls.py'),
                'qemu-version': qemu_version(args.qemu), 'size': args.size,
                'scenarios': args.scenarios, 'modes': args.modes,
                'tools': args.tools, 'no-verify': args.no_verify,
                'runs': [], 'aes': []}
        tmp = tempfile.mkdtemp(prefix='vmig-tls-', dir=args.tmp_dir)
        start = time.monotonic()
        try:
            bench(args, tmp, data)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        data['end'] = datetime.datetime.now(datetime.timezone.utc) \
            .strftime('%H:%M UTC')
        save(args, data)
        print('%.0f s' % (time.monotonic() - start), file=sys.stderr)
    emit(markdown(data), args.out)
    if args.plot:
        plot(data, args.plot)


if __name__ == '__main__':
    main()
