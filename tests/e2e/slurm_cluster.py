"""A throwaway single-node Slurm cluster for the tests: munge with its own key and socket,
slurmctld and slurmd, every file under one temporary folder, stopped on exit (also when a test
fails: use it as a context manager).

    with SlurmCluster(tmpdir) as c:
        c.sbatch("--array=1-4", "--wrap", "true", wait=True)

Needs root (slurmd runs jobs as their user and sets credentials) and Debian's slurmctld,
slurmd, slurm-client and munge (scripts/deps.sh). skip_reason() says why a cluster cannot run
here, or None. The config is the smallest that runs jobs without systemd or cgroups:
proctrack/linuxproc (processes found by parent id) and task/none (no binding).
"""

import os
import shutil
import socket
import subprocess
import time

TOOLS = ["munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo"]
DIRS = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]


def _which(name):
    return shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", "")] + DIRS))


def skip_reason():
    """Why a cluster cannot run here, or None."""
    if os.geteuid() != 0:
        return "not root (slurmd must run as root to start jobs)"
    missing = [t for t in TOOLS if not _which(t)]
    if missing:
        return "missing %s (scripts/deps.sh installs slurmctld slurmd slurm-client munge)" % (
            ", ".join(missing))
    return None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SlurmError(Exception):
    pass


class SlurmCluster:
    def __init__(self, root, cpus=4):
        self.root = os.path.join(root, "slurm")
        self.cpus = cpus
        self.procs = []
        self.host = socket.gethostname().split(".")[0]

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    # ---- start ----

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        for d in ["", "state", "spool", "munge", "log"]:
            os.makedirs(self.path(d), mode=0o700, exist_ok=True)
        os.chmod(self.root, 0o755)  # munged refuses keys and sockets in open folders
        self._start_munge()
        self._write_conf()
        self.env = dict(os.environ, SLURM_CONF=self.path("slurm.conf"))
        self._spawn("slurmctld", [_which("slurmctld"), "-D", "-i", "-f", self.path("slurm.conf")])
        self._wait(lambda: self._run(["sinfo", "-h"], check=False).returncode == 0, "slurmctld",
                   "slurmctld.log")
        self._spawn("slurmd", [_which("slurmd"), "-D", "-f", self.path("slurm.conf"), "-N",
                               self.host])
        self._wait(self._node_idle, "slurmd", "slurmd.log")

    def _start_munge(self):
        key, sock = self.path("munge", "munge.key"), self.path("munge", "munge.sock")
        subprocess.run([_which("mungekey"), "-c", "-f", "-k", key], check=True,
                       capture_output=True)
        os.chmod(key, 0o600)
        self.munge_sock = sock
        self._spawn("munged", [_which("munged"), "-F", "--force", "-S", sock, "--key-file", key,
                               "--pid-file", self.path("munge", "munged.pid"),
                               "--seed-file", self.path("munge", "seed"),
                               "--log-file", self.path("log", "munged.log")])
        self._wait(lambda: os.path.exists(sock), "munged", "munged.log")

    def _write_conf(self):
        ctl, node = _free_port(), _free_port()
        p = self.path
        conf = f"""ClusterName=lftest
SlurmctldHost={self.host}(127.0.0.1)
SlurmctldPort={ctl}
SlurmdPort={node}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={self.munge_sock}
CredType=cred/munge
StateSaveLocation={p("state")}
SlurmdSpoolDir={p("spool")}
SlurmctldPidFile={p("slurmctld.pid")}
SlurmdPidFile={p("slurmd.pid")}
SlurmctldLogFile={p("log", "slurmctld.log")}
SlurmdLogFile={p("log", "slurmd.log")}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
MpiDefault=none
ReturnToService=2
KillWait=5
NodeName={self.host} NodeAddr=127.0.0.1 CPUs={self.cpus} State=UNKNOWN
PartitionName=test Nodes={self.host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
"""
        with open(p("slurm.conf"), "w") as f:
            f.write(conf)

    def _spawn(self, name, argv):
        log = open(self.path("log", name + ".out"), "w")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                env=getattr(self, "env", None), start_new_session=True)
        log.close()
        self.procs.append((name, proc))

    def _wait(self, ready, name, logname, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            for n, pr in self.procs:
                if pr.poll() is not None:
                    raise SlurmError(f"{n} exited ({pr.returncode}): {self.log_tail(n)}")
            time.sleep(0.2)
        raise SlurmError(f"{name} not ready after {timeout}s: {self.log_tail(name)}")

    def log_tail(self, name, n=15):
        out = []
        for f in [name + ".out", name + ".log"]:
            try:
                with open(self.path("log", f), errors="replace") as fh:
                    out += fh.read().splitlines()[-n:]
            except OSError:
                pass
        return "\n".join(out)

    def _node_idle(self):
        p = self._run(["sinfo", "-h", "-N", "-o", "%T"], check=False)
        return p.returncode == 0 and p.stdout.strip() in ("idle", "mixed", "allocated")

    # ---- use ----

    def _run(self, argv, check=True, timeout=60):
        p = subprocess.run([_which(argv[0]), *argv[1:]], capture_output=True, text=True,
                           env=self.env, timeout=timeout)
        if check and p.returncode != 0:
            raise SlurmError(f"{' '.join(argv)}: exit {p.returncode}: {p.stderr.strip()}")
        return p

    def sbatch(self, *args, wait=False, timeout=600):
        """Submits a job: (job id, sbatch's exit status). With wait, returns once the job
        ended; the status is then the job's (non-zero if a task failed)."""
        argv = ["sbatch", "--parsable", "-D", self.root, "-o", self.path("log", "job-%A_%a.out")]
        p = self._run(argv + (["--wait"] if wait else []) + list(args), check=False,
                      timeout=timeout)
        job = p.stdout.strip().split("\n")[0].split(";")[0]
        if not job.isdigit():
            raise SlurmError(f"sbatch {' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
        return job, p.returncode

    def job_logs(self, n=5):
        """The last lines of every job's output, for failure messages."""
        out = []
        for f in sorted(os.listdir(self.path("log"))):
            if f.startswith("job-"):
                with open(self.path("log", f), errors="replace") as fh:
                    out += [f + ": " + line for line in fh.read().splitlines()[-n:]]
        return "\n".join(out)

    def squeue(self, job):
        """{task id: state} for the job's tasks still known to the controller."""
        p = self._run(["squeue", "-h", "-r", "-j", job, "-o", "%K %T"], check=False)
        out = {}
        for line in p.stdout.splitlines():
            k, _, state = line.partition(" ")
            out[k] = state
        return out

    def wait_gone(self, job, timeout=300):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.squeue(job):
                return
            time.sleep(0.3)
        raise SlurmError(f"job {job} still queued after {timeout}s")

    def scancel(self, *args):
        self._run(["scancel", *args])

    # ---- stop ----

    def stop(self):
        """Stops the daemons, newest first; each gets SIGTERM, then SIGKILL."""
        if getattr(self, "env", None) and self.procs:
            try:  # this cluster's jobs only: SLURM_CONF names our controller
                self._run(["scancel", "-u", "root"], check=False, timeout=20)
            except subprocess.TimeoutExpired:
                pass
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.procs = []
