"""A throwaway PostgreSQL cluster for the comparisons (`tpch.py --postgres auto`).

Uses Debian's server binaries (/usr/lib/postgresql/<version>/bin, the newest version found; the
`postgresql` package). `initdb` into a fresh temp dir (trust authentication, superuser
`postgres`, UTF8, C locale), then `pg_ctl start` on a free TCP port on 127.0.0.1 with the unix
socket in the same temp dir, so it never touches a system cluster. As root, initdb and pg_ctl run
as the `postgres` OS user (`runuser -u postgres --`, else `su postgres -c`) and the temp dir is
chowned to it. On exit (normal, exception, Ctrl-C or SIGTERM) the cluster is stopped
(`pg_ctl stop -m fast`, then `-m immediate`) and the temp dir deleted.

Settings, chosen for a fair analytic comparison on one machine (see `settings()`):

  shared_buffers = min(4 GB, RAM / 4)    the whole SF1 data set stays cached
  effective_cache_size = RAM / 2
  work_mem = 256MB                       hash joins / sorts of TPC-H SF1 stay in memory
  maintenance_work_mem = 1GB
  max_parallel_workers_per_gather = number of CPUs (as DuckDB's and Sightline's threads)
  max_parallel_workers = number of CPUs, max_worker_processes = CPUs + 8
  jit = off                              at these sizes LLVM compilation costs more than it saves
                                         (PostgreSQL's JIT is on by default; with --pg-jit it is
                                         left on)
  fsync, synchronous_commit, full_page_writes = off, wal_level = minimal, max_wal_size = 8GB
                                         only make the one-off COPY load faster: the
                                         cluster is deleted at the end, durability is moot
"""

import contextlib
import glob
import os
import pathlib
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def find_bin_dir():
    """The newest /usr/lib/postgresql/*/bin holding initdb and pg_ctl, or exit with a hint."""
    found = []
    for initdb in glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        bindir = pathlib.Path(initdb).parent
        version = bindir.parent.name
        if (bindir / "pg_ctl").exists() and re.fullmatch(r"\d+(\.\d+)?", version):
            found.append((float(version), bindir))
    if not found:
        sys.exit("--postgres auto needs PostgreSQL's server binaries (/usr/lib/postgresql/*/bin/initdb "
                 "and pg_ctl), none found: install them with `apt-get install postgresql` "
                 "(or pass --postgres DSN for a server you run yourself)")
    return max(found)[1]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _total_memory_bytes():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 16 << 30


def settings(jit=False):
    cpus = os.cpu_count() or 1
    mem_mb = _total_memory_bytes() >> 20
    return {
        "shared_buffers": f"{min(4096, mem_mb // 4)}MB",
        "effective_cache_size": f"{mem_mb // 2}MB",
        "work_mem": "256MB",
        "maintenance_work_mem": "1GB",
        "max_parallel_workers_per_gather": str(cpus),
        "max_parallel_workers": str(cpus),
        "max_worker_processes": str(cpus + 8),
        "jit": "on" if jit else "off",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "wal_level": "minimal",
        "max_wal_senders": "0",
        "max_wal_size": "8GB",
        "listen_addresses": "'127.0.0.1'",
    }


class TempPostgres:
    """Context manager: `with TempPostgres() as pg: pg.dsn` — started on enter, deleted on exit."""

    def __init__(self, jit=False, log=print):
        self.bindir = find_bin_dir()
        self.jit = jit
        self.log = log
        self.as_postgres = os.geteuid() == 0
        self.tmp = None
        self.started = False
        self.port = None

    # Running the server binaries (as the postgres OS user when we are root: initdb refuses root).
    def _run(self, args, **kw):
        args = [str(a) for a in args]
        if self.as_postgres:
            if shutil.which("runuser"):
                args = ["runuser", "-u", "postgres", "--"] + args
            else:
                args = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(args)]
        return subprocess.run(args, capture_output=True, text=True, **kw)

    def _check(self, what, proc):
        if proc.returncode != 0:
            log = ""
            logfile = self.tmp / "postgres.log" if self.tmp else None
            if logfile and logfile.exists():
                log = "\n" + logfile.read_text()[-3000:]
            raise RuntimeError(f"{what} failed ({proc.returncode}): {proc.stdout}{proc.stderr}{log}")

    @property
    def dsn(self):
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    @property
    def version(self):
        return self.bindir.parent.name

    def psql(self):
        return self.bindir / "psql"

    def __enter__(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="sightline-bench-pg-"))
        try:
            if self.as_postgres:
                shutil.chown(self.tmp, "postgres", "postgres")
            data = self.tmp / "data"
            t = time.perf_counter()
            self._check("initdb", self._run([self.bindir / "initdb", "-D", data, "-U", "postgres",
                                             "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]))
            self.port = _free_port()
            conf = settings(self.jit)
            conf["port"] = str(self.port)
            conf["unix_socket_directories"] = f"'{self.tmp}'"
            with open(data / "postgresql.conf", "a") as f:
                f.write("\n# sightline benches/compare/pgcluster.py\n")
                for k, v in conf.items():
                    f.write(f"{k} = {v}\n")
            # A new session: a Ctrl-C in the terminal reaches us, not the postmaster; we stop it.
            self._check("pg_ctl start", self._run(
                [self.bindir / "pg_ctl", "-D", data, "-l", self.tmp / "postgres.log", "-w", "-t", "120",
                 "start"], start_new_session=True))
            self.started = True
            self.log(f"started PostgreSQL {self.version} in {self.tmp} on port {self.port} "
                     f"({time.perf_counter() - t:.1f} s; shared_buffers {conf['shared_buffers']}, "
                     f"work_mem {conf['work_mem']}, max_parallel_workers_per_gather "
                     f"{conf['max_parallel_workers_per_gather']}, jit {conf['jit']})")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        # Ignore further Ctrl-C while cleaning up, so the cluster does not outlive us.
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            if self.started:
                data = self.tmp / "data"
                proc = self._run([self.bindir / "pg_ctl", "-D", data, "-m", "fast", "-w", "-t", "60", "stop"])
                if proc.returncode != 0:
                    self._run([self.bindir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"])
                self.started = False
            if self.tmp is not None:
                shutil.rmtree(self.tmp, ignore_errors=True)
                self.log(f"stopped PostgreSQL and deleted {self.tmp}")
                self.tmp = None
        finally:
            signal.signal(signal.SIGINT, old)
        return False


@contextlib.contextmanager
def sigterm_as_exit():
    """SIGTERM raises SystemExit, so `finally` blocks (server and cluster shutdown) run."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)
    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
