"""What the benchmarks in scripts/bench/ share: a QMP client, starting a
monitored process (vmig or QEMU: both take -name and -qmp the same way),
sizes, the loopback TCP limit and a description of the machine.

Python standard library only.
"""

import argparse
import importlib.util
import json
import mmap
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time

GiB = 1 << 30
MiB = 1 << 20
PAGE = 4096
TIMEOUT = 600


class QmpError(Exception):
    pass


class Qmp:
    """A minimal blocking QMP client over a unix socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.file = self.sock.makefile('rb')
        self.events = []                # as they came, read with replies
        self._read()                    # greeting
        self.cmd('qmp_capabilities')

    def _read(self):
        line = self.file.readline()
        if not line:
            raise QmpError('the monitor closed the connection')
        return json.loads(line)

    def cmd(self, name, **args):
        req = {'execute': name}
        if args:
            req['arguments'] = args
        self.sock.sendall(json.dumps(req).encode() + b'\n')
        while True:
            msg = self._read()
            if 'event' in msg:
                self.events.append(msg)
                continue
            if 'error' in msg:
                raise QmpError('%s: %s' % (name, msg['error']['desc']))
            return msg['return']

    def close(self):
        self.file.close()
        self.sock.close()


class Machine:
    """A vmig or QEMU process (@binary) and its QMP connection."""

    def __init__(self, binary, tmpdir, name, args):
        self.name = name
        self.sock = os.path.join(tmpdir, name + '.sock')
        self.log_path = os.path.join(tmpdir, name + '.log')
        self.log = open(self.log_path, 'wb')
        self.proc = subprocess.Popen(
            [binary, '-name', name,
             '-qmp', 'unix:%s,server=on,wait=off' % self.sock] + args,
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        self.qmp = None
        deadline = time.monotonic() + 30
        # The monitor answers once start-up is over (-incoming listening
        # included); a process that fails to start exits instead.
        while self.qmp is None:
            if self.proc.poll() is not None:
                self.log.close()
                raise RuntimeError('%s exited: %s' % (name, self.log_text()))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError('%s: no monitor' % name)
            try:
                self.qmp = Qmp(self.sock)
            except (OSError, QmpError):
                time.sleep(0.05)

    def log_text(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode(errors='replace').strip()

    def cmd(self, name, **args):
        return self.qmp.cmd(name, **args)

    def cpu_seconds(self):
        """User plus system CPU time of the whole process so far, threads
        that have already exited included."""
        with open('/proc/%d/stat' % self.proc.pid) as f:
            # The command name in parentheses may hold spaces: split
            # after it.  utime and stime are fields 14 and 15.
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.qmp.cmd('quit')
            except (AttributeError, OSError, QmpError):
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.qmp:
            self.qmp.close()
            self.qmp = None
        self.log.close()


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def on_free_port(start):
    """Calls start(port) with a free port until it does not raise
    RuntimeError: free_port() and the binding race with other programs.
    Returns what start returned, and the port."""
    for attempt in range(5):
        port = free_port()
        try:
            return start(port), port
        except RuntimeError:
            if attempt == 4:
                raise


def wait_migration(machine, timeout=TIMEOUT):
    """Polls query-migrate on @machine until the migration ends; returns
    the final answer, whatever the outcome."""
    deadline = time.monotonic() + timeout
    while True:
        info = machine.cmd('query-migrate')
        if info.get('status') in ('completed', 'failed', 'cancelled'):
            return info
        if time.monotonic() > deadline:
            raise RuntimeError('migration did not end')
        time.sleep(0.02)


def qemu_migrate_tcp(src, dst):
    """Migrates QEMU @src to @dst (started with -incoming defer) over
    127.0.0.1 with no bandwidth limit, the capabilities and parameters
    already set."""
    # QEMU 7.2 has no "no limit" value: 1 TiB/s is none in practice.
    src.cmd('migrate-set-parameters', **{'max-bandwidth': 1 << 40})

    def listen(port):
        try:
            dst.cmd('migrate-incoming', uri='tcp:127.0.0.1:%d' % port)
        except QmpError as e:       # the port was taken: try another
            raise RuntimeError(str(e))
    _, port = on_free_port(listen)
    src.cmd('migrate', uri='tcp:127.0.0.1:%d' % port)


def parse_size(text):
    units = {'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40}
    text = text.strip().upper().rstrip('B').rstrip('I')
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def size_name(size):
    return '%d GiB' % (size // GiB) if size % GiB == 0 \
        else '%d MiB' % (size // MiB)


def memory_buffer(nbytes, pattern):
    """@nbytes of anonymous memory, every page written with @pattern
    (repeated) so that all of it is allocated, with transparent huge
    pages requested as vmig does for guest RAM."""
    buf = mmap.mmap(-1, nbytes)
    try:
        buf.madvise(mmap.MADV_HUGEPAGE)
    except (AttributeError, OSError):
        pass
    for off in range(0, nbytes, len(pattern)):
        n = min(len(pattern), nbytes - off)
        buf[off:off + n] = pattern[:n]
    return buf


def loopback_once(nbytes, chunk=4 * MiB, memory=False):
    """Seconds to send @nbytes from one process to another through
    127.0.0.1 TCP, in @chunk writes (as vmig's stream does, in one
    connection).  By default the sender sends one cache-hot @chunk
    again and again and the receiver reads into one @chunk buffer; with
    @memory, the sender sends from an @nbytes buffer and the receiver
    reads into another, both allocated and written before the clock
    starts: what a migration does with guest RAM."""
    with socket.socket() as srv:
        srv.bind(('127.0.0.1', 0))
        srv.listen(1)
        pid = os.fork()
        if pid == 0:
            try:
                data = memoryview(os.urandom(chunk))
                if memory:
                    data = memoryview(memory_buffer(nbytes, data))
                with socket.create_connection(srv.getsockname()) as c:
                    off = 0
                    while off < nbytes:
                        n = min(nbytes - off, chunk)
                        c.sendall(data[off:off + n] if memory
                                  else data[:n])
                        off += n
            finally:
                os._exit(0)
        if memory:
            buf = memoryview(memory_buffer(nbytes, b'\x01' * chunk))
        else:
            buf = memoryview(bytearray(chunk))
        conn, _ = srv.accept()
        got = 0
        start = time.monotonic()
        with conn:
            while True:
                if memory:
                    # One byte more than is due, to see any excess.
                    n = conn.recv_into(buf[got:got + chunk]) \
                        if got < nbytes else len(conn.recv(1))
                else:
                    n = conn.recv_into(buf)
                if not n:
                    break
                got += n
        elapsed = time.monotonic() - start
        os.waitpid(pid, 0)
    if got != nbytes:
        raise RuntimeError('loopback lost bytes: %d of %d' % (got, nbytes))
    return elapsed


def mem_available():
    with open('/proc/meminfo') as f:
        for line in f:
            if line.startswith('MemAvailable:'):
                return int(line.split()[1]) * 1024
    return 0


def require_memory(need, program):
    """Exits, saying so, unless @need bytes of memory are free."""
    if mem_available() < need:
        sys.exit('%s: needs %.1f GiB of free memory' % (program, need / GiB))


def machine_description():
    cpu = platform.processor() or '?'
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return '%d CPUs (%s), %.1f GiB RAM, Linux %s' % (
        os.cpu_count(), cpu, os.sysconf('SC_PAGE_SIZE') *
        os.sysconf('SC_PHYS_PAGES') / GiB, platform.release())


def git_commit(here=None):
    """The commit of the tree at @here (default: these scripts')."""
    here = here or os.path.dirname(os.path.abspath(__file__))
    try:
        commit = subprocess.run(['git', '-C', here, 'rev-parse', '--short',
                                 'HEAD'], capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(['git', '-C', here, 'status', '--porcelain',
                                '--untracked-files=no'], capture_output=True,
                               text=True).stdout.strip()
        return commit + (' (with uncommitted changes)' if dirty else '')
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


def build_commit(build, script):
    """The commit vmig was built from (the build may be of another
    tree than the benchmark's), and that of @script's tree when they
    differ."""
    try:
        with open(os.path.join(build, 'meson-info', 'meson-info.json')) as f:
            source = json.load(f)['directories']['source']
    except (OSError, ValueError, KeyError):
        return git_commit()
    built, here = git_commit(source), git_commit()
    return built if built == here else '%s (%s at %s)' % (built, script, here)


def qemu_version(qemu):
    try:
        out = subprocess.run([qemu, '--version'], capture_output=True,
                             text=True).stdout
        return out.splitlines()[0].strip()
    except (OSError, IndexError):
        return 'unknown'


def load_script(name, path):
    """The script at @path (another benchmark, whose file name is no
    module name) as module @name."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_runs(paths):
    """The 'meta' of each of the --json files at @paths, and all their
    'runs' in one list."""
    metas, runs = [], []
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        metas.append(data['meta'])
        runs += data['runs']
    return metas, runs


def emit(text, path=None):
    """Prints a report, and writes it to @path too if given."""
    sys.stdout.write(text)
    if path:
        with open(path, 'w') as f:
            f.write(text)


def vs_qemu_arguments(description):
    """An argument parser with the options every vmig-against-QEMU
    script takes: the build, --size, --qemu and --tmp-dir."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument('build', nargs='?', default='build',
                    help='the meson build directory (default: build)')
    ap.add_argument('--size', default='1G', type=parse_size,
                    help='guest RAM size (default: 1G)')
    ap.add_argument('--qemu', default='qemu-system-x86_64',
                    help='the QEMU binary (default: qemu-system-x86_64)')
    ap.add_argument('--tmp-dir', default='/dev/shm' if os.path.isdir(
                        '/dev/shm') else tempfile.gettempdir(),
                    help='where the RAM files go (default: /dev/shm)')
    return ap


def check_programs(ap, args):
    """Refuses, through @ap, a run whose args.tools lack their binary."""
    if 'vmig' in args.tools and \
            not os.access(os.path.join(args.build, 'vmig'), os.X_OK):
        ap.error('%s/vmig not found: build first' % args.build)
    if 'qemu' in args.tools and not shutil.which(args.qemu):
        ap.error('%s not found: run scripts/bench/setup-qemu-bench'
                 % args.qemu)
