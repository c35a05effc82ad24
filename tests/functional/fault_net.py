"""The fault suite's network: a source namespace and a destination
namespace joined by a veth pair, and vmig processes started inside them.

    with NetPair() as net:
        src = NsVmig(net.src.prefix(), ...)  # in the source namespace
        uri = 'tcp:%s:%d' % (net.DST_ADDR, port)
        net.cut()                        # drop every packet, no RST
        net.mend()

Namespaces are named after this process and a counter, so parallel test
runs never share one; each is deleted when its test ends, and names left
by a process that no longer exists (a run killed by its timeout) are
deleted by the next run.  skip_reason() says why a host cannot have
them: not root, no ip(8) or iptables(8), or the kernel refuses.
"""

import itertools
import os
import re
import shutil
import subprocess

from vmig_harness import Vmig

PREFIX = 'vmigf'
_NAME = re.compile(r'^%s-(\d+)-\d+[sd]$' % PREFIX)
_counter = itertools.count()
_probed = []        # the result of the one probe, once it ran


def _run(*cmd):
    """Runs a command; raises with its output if it fails."""
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=30)
    if proc.returncode != 0:
        raise OSError('%s: %s' % (' '.join(cmd),
                                  proc.stdout.decode(errors='replace')))
    return proc.stdout.decode()


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _sweep_stale():
    """Deletes the namespaces of fault-suite runs that no longer run."""
    for line in _run('ip', 'netns', 'list').splitlines():
        name = line.split()[0] if line.split() else ''
        m = _NAME.match(name)
        if m and not _pid_alive(int(m.group(1))):
            subprocess.run(['ip', 'netns', 'del', name],
                           stderr=subprocess.DEVNULL)


def skip_reason():
    """None if this host can run the fault suite, else why not."""
    if not _probed:
        _probed.append(_probe())
    return _probed[0]


def _probe():
    if os.geteuid() != 0:
        return 'network namespaces need root'
    for tool in ('ip', 'iptables'):
        if shutil.which(tool) is None:
            return 'no %s(8) on this host' % tool
    try:
        _sweep_stale()
        with NetPair() as net:
            net.cut()
            net.mend()
    except OSError as e:
        return 'cannot set up network namespaces: %s' % e
    return None


class Namespace:
    def __init__(self, name, dev, addr):
        self.name = name
        self.dev = dev
        self.addr = addr

    def prefix(self):
        """The command prefix that runs a command inside."""
        return ['ip', 'netns', 'exec', self.name]

    def run(self, *cmd):
        return _run(*(self.prefix() + list(cmd)))


class NetPair:
    """Two namespaces, .src and .dst, joined by a veth pair."""

    SRC_ADDR = '10.99.0.1'
    DST_ADDR = '10.99.0.2'

    def __init__(self):
        base = '%s-%d-%d' % (PREFIX, os.getpid(), next(_counter))
        self.src = Namespace(base + 's', 'veth-s', self.SRC_ADDR)
        self.dst = Namespace(base + 'd', 'veth-d', self.DST_ADDR)
        self._made = []

    def __enter__(self):
        try:
            for ns in (self.src, self.dst):
                _run('ip', 'netns', 'add', ns.name)
                self._made.append(ns.name)
            _run('ip', 'link', 'add', self.src.dev, 'netns', self.src.name,
                 'type', 'veth', 'peer', 'name', self.dst.dev,
                 'netns', self.dst.name)
            for ns in (self.src, self.dst):
                ns.run('ip', 'addr', 'add', ns.addr + '/24', 'dev', ns.dev)
                ns.run('ip', 'link', 'set', ns.dev, 'up')
                ns.run('ip', 'link', 'set', 'lo', 'up')
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        # A namespace whose processes are gone goes with its name, veth
        # end and firewall rules.
        while self._made:
            subprocess.run(['ip', 'netns', 'del', self._made.pop()],
                           stderr=subprocess.DEVNULL)

    def cut(self):
        """Every packet on the link is dropped, both ways, in both
        namespaces: neither end gets an RST or an ICMP error."""
        for ns in (self.src, self.dst):
            ns.run('iptables', '-I', 'INPUT', '-i', ns.dev, '-j', 'DROP')
            ns.run('iptables', '-I', 'OUTPUT', '-o', ns.dev, '-j', 'DROP')

    def mend(self):
        for ns in (self.src, self.dst):
            ns.run('iptables', '-F', 'INPUT')
            ns.run('iptables', '-F', 'OUTPUT')


class NsVmig(Vmig):
    """A vmig started by the command @prefix, which enters namespaces
    (Namespace.prefix(), unshare) and then execs vmig, so .proc's pid is
    vmig's own (signals reach it)."""

    def __init__(self, prefix, *args, **kw):
        super().__init__(*args, **kw)
        self.prefix = list(prefix)

    def command_line(self):
        return self.prefix + super().command_line()
