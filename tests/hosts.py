"""Machines for tests/test_hosts.py, made of Linux network namespaces on this one.

Each :class:`Host` is a network namespace with one veth pair: its end ``eth0`` inside,
the other end on a bridge in the root namespace, which is the test's own machine (the
clients and the SMTP sink). Addresses come from the benchmarking range 198.18.0.0/15,
so no traffic leaves for a real network. A host is cut off by taking its bridge port
down (a pulled cable: packets vanish, sockets time out), and a host is partitioned from
one address by a permanent neighbour entry pointing at a MAC nobody has (its packets to
that address are lost silently, as behind a broken switch; no iptables needed).

Everything made is listed in the :class:`Network` and removed by :meth:`Network.close`,
which the test's fixture calls also when the test fails.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: A MAC address no host has: packets sent to it are lost.
NOWHERE_MAC = "02:00:5e:00:53:01"


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run iproute2's ``ip`` with ``args``."""
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def why_hosts_cannot_run() -> str | None:
    """None if this process can make network namespaces, else the reason it cannot."""
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs as root)"
    if shutil.which("ip") is None:
        return "iproute2's ip is not installed"
    probe = f"ehprobe{os.getpid()}"
    made = ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"ip netns is not available here: {made.stderr.strip()}"
    ip("netns", "del", probe, check=False)
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        return "PostgreSQL's initdb is not installed"
    if shutil.which("redis-server") is None:
        return "redis-server is not installed"
    return None


def free_subnet() -> int:
    """A third octet N such that 198.18.N.0/24 is not routed on this machine yet."""
    routes = ip("-4", "route", "show", "table", "all").stdout
    for third in range(10, 250):
        if f"198.18.{third}." not in routes:
            return third
    raise RuntimeError("no free /24 left in 198.18.0.0/16")


@dataclass
class Process:
    """A process started in a host, in a process group of its own, logging to a file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        """What it has logged so far."""
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        """Whether it still runs."""
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole group: no cleanup, no acknowledgements, no goodbye."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)

    def stop(self) -> None:
        """SIGTERM the group, then SIGKILL if it has not ended within 15 s."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self.kill()


@dataclass
class Host:
    """A network namespace with one address on the test's bridge."""

    name: str
    namespace: str
    address: str
    port: str  # the veth end on the bridge, in the root namespace
    processes: list[Process] = field(default_factory=list)
    #: Folders made for this host's services, removed with it.
    scratch: list[Path] = field(default_factory=list)

    def start(
        self,
        name: str,
        command: Sequence[str],
        folder: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Process:
        """Start ``command`` inside this host."""
        log = folder / f"{self.name}-{name}-{time.monotonic_ns()}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                ["ip", "netns", "exec", self.namespace, *command],
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def kill_all(self) -> None:
        """SIGKILL every process started in this host."""
        for process in self.processes:
            process.kill()


class Network:
    """A bridge in the root namespace and the hosts on it; :meth:`close` removes all."""

    def __init__(self) -> None:
        remove_leftovers()
        self.third = free_subnet()
        self.tag = str(os.getpid())  # in every name, for remove_leftovers
        self.bridge = f"ehb{self.tag}"
        self.address = self.ip_of(1)  # the root namespace: clients and the SMTP sink
        self.hosts: list[Host] = []
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.address}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")

    def ip_of(self, last: int) -> str:
        """The address ending in ``last`` in this network."""
        return f"198.18.{self.third}.{last}"

    def add_host(self, name: str, last: int) -> Host:
        """A new namespace with address ``.last`` on the bridge."""
        host = Host(name, f"eh{self.tag}-{name}", self.ip_of(last), f"eh{self.tag}h{last}")
        ip("netns", "add", host.namespace)
        self.hosts.append(host)
        inside = f"eh{self.tag}n{last}"
        ip("link", "add", host.port, "type", "veth", "peer", "name", inside)
        ip("link", "set", inside, "netns", host.namespace)
        ip("-n", host.namespace, "link", "set", inside, "name", "eth0")
        ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", "eth0")
        ip("-n", host.namespace, "link", "set", "eth0", "up")
        ip("-n", host.namespace, "link", "set", "lo", "up")
        ip("link", "set", host.port, "master", self.bridge, "up")
        return host

    def cut(self, host: Host) -> None:
        """Pull the host's cable: its bridge port goes down."""
        ip("link", "set", host.port, "down")

    def reconnect(self, host: Host) -> None:
        """Plug the cable in again."""
        ip("link", "set", host.port, "up")

    def partition(self, host: Host, peer: Host) -> None:
        """Lose every packet ``host`` sends to ``peer`` (the rest of its traffic flows)."""
        ip("-n", host.namespace, "neigh", "replace", peer.address, "lladdr", NOWHERE_MAC,
           "nud", "permanent", "dev", "eth0")  # fmt: skip

    def heal(self, host: Host, peer: Host) -> None:
        """End :meth:`partition`: the host learns the peer's real address again."""
        ip("-n", host.namespace, "neigh", "del", peer.address, "dev", "eth0", check=False)

    def close(self) -> None:
        """Kill every process, then remove the namespaces, veth pairs and bridge."""
        for host in self.hosts:
            host.kill_all()
        for host in self.hosts:
            _remove_namespace(host.namespace)
            ip("link", "del", host.port, check=False)  # removes both ends of the pair
            for folder in host.scratch:
                shutil.rmtree(folder, ignore_errors=True)
        ip("link", "del", self.bridge, check=False)


def _remove_namespace(namespace: str) -> None:
    """Kill what still runs in the namespace (children that left their process group),
    then delete it."""
    for pid in ip("netns", "pids", namespace, check=False).stdout.split():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)
    ip("netns", "del", namespace, check=False)


def remove_leftovers() -> None:
    """Remove the namespaces, links and bridge of an earlier run that was killed before
    it could clean up (its pytest process is gone)."""
    for line in ip("netns", "list").stdout.splitlines():
        found = re.match(r"eh(\d+)-\S+", line)
        if found and not Path(f"/proc/{found.group(1)}").exists():
            _remove_namespace(found.group(0))
    for folder in Path(tempfile.gettempdir()).glob("ehrenamt-hosts-pg-*-*"):
        pid = folder.name.split("-")[3]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)
    for line in ip("-o", "link", "show").stdout.splitlines():
        found = re.match(r"\d+: (ehb?(\d+)(h\d+)?)[@:]", line)
        if found and not Path(f"/proc/{found.group(2)}").exists():
            ip("link", "del", found.group(1), check=False)


def wait_for_port(address: str, port: int, process: Process, timeout: float = 60.0) -> None:
    """Wait until something accepts connections on ``address:port``."""
    deadline = time.monotonic() + timeout
    while True:
        assert process.alive(), process.text()[-3000:]
        try:
            socket.create_connection((address, port), timeout=0.5).close()
            return
        except OSError:
            assert time.monotonic() < deadline, process.text()[-3000:]
            time.sleep(0.1)


def start_postgresql(host: Host, folder: Path) -> tuple[Process, str]:
    """A private cluster (initdb) listening on the host's address; its server URL.

    initdb and postgres refuse to run as root, so both run as the ``postgres`` user in a
    folder of its own. fsync is off: the cluster lives for one test run.
    """
    bin_dir = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[-1]).parent
    user = pwd.getpwnam("postgres")
    data = Path(tempfile.mkdtemp(prefix=f"ehrenamt-hosts-pg-{os.getpid()}-"))
    host.scratch.append(data)
    os.chown(data, user.pw_uid, user.pw_gid)
    subprocess.run(
        ["runuser", "-u", "postgres", "--", str(bin_dir / "initdb"), "-D", str(data / "db"),
         "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"],
        check=True, capture_output=True,
    )  # fmt: skip
    with (data / "db" / "pg_hba.conf").open("a") as hba:
        hba.write("host all all 198.18.0.0/15 trust\n")
    process = host.start(
        "postgresql",
        ["runuser", "-u", "postgres", "--", str(bin_dir / "postgres"), "-D", str(data / "db"),
         "-c", f"listen_addresses={host.address}", "-c", f"unix_socket_directories={data}",
         "-c", "max_connections=200", "-c", "fsync=off", "-c", "synchronous_commit=off"],
        folder,
    )  # fmt: skip
    wait_for_port(host.address, 5432, process)
    return process, f"postgresql://postgres@{host.address}:5432"


def start_redis(host: Host, folder: Path) -> tuple[Process, str]:
    """A private redis-server on the host's address; its URL without database."""
    process = host.start(
        "redis",
        ["redis-server", "--bind", host.address, "--port", "6379", "--save", "",
         "--appendonly", "no", "--protected-mode", "no"],
        folder,
    )  # fmt: skip
    wait_for_port(host.address, 6379, process)
    return process, f"redis://{host.address}:6379"
