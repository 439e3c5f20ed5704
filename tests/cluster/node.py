"""A real node for the simulated cluster: containerd, kubelet, kube-proxy, CoreDNS.

Beside the kwok nodes, one kubelet registers against the simulated API server
and runs pods for real: Debian's containerd (with runc and the CNI plugins of
`containernetworking-plugins`) on a configuration generated here, whose root,
state, socket and CNI files all live under this node's work directory, never
the system's; kube-proxy in iptables mode so Services and NodePorts route; and
CoreDNS as a process on the pod bridge's gateway address as the cluster DNS.
The sandbox ("pause") image is built here from the static `pause` binary and
imported, since nothing can be pulled.

What this machine needs (see docs in BUILD-MACHINE.md): it refuses a negative
oom_score_adj even for root, so containerd's CRI runs with
`restrict_oom_score_adj`; its cgroups are v1, so the kubelet has
`failCgroupV1: false` and the cgroupfs driver.

The node is tainted (TAINT) and labelled (LABEL): only pods that tolerate the
taint run on it, so what the rehearsal schedules for kwok stays on kwok.

`stop()` leaves nothing behind: it kills every container through containerd,
stops the processes, unmounts what is left under the work directory, deletes the
bridge, removes the KUBE-* iptables chains and the kubelet's cgroups and
container log links, and restores the sysctls it changed; `leftovers()` names
whatever remains, and the rehearsal's test asserts it names nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import tarfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.cluster.pki import issue_client, write_kubeconfig
from tests.cluster.processes import Component, alive, start_component, stop_components, tail
from tests.cluster.sim import SimCluster, SimError, binary, free_port

NODE_NAME = "real-node-1"
BRIDGE = "titanium0"
POD_SUBNET = "10.246.0.0/24"
CNI_NETWORK = "titanium-rehearsal"
CNI_BIN = "/usr/lib/cni"
TAINT = {"key": "titanium.io/real-node", "value": "true", "effect": "NoSchedule"}
LABEL = ("titanium.io/node", "real")
# What a pod spec needs to run on the real node (and nowhere else).
TOLERATION = {"key": TAINT["key"], "operator": "Exists", "effect": TAINT["effect"]}
ON_THE_NODE = {"nodeSelector": {LABEL[0]: LABEL[1]}, "tolerations": [TOLERATION]}
PAUSE_IMAGE = "localhost/titanium-pause:1"
NAMESPACE = "k8s.io"  # containerd's namespace for what the CRI runs
# Changed while the node runs (kube-proxy's localhost NodePorts, forwarding to the
# bridge, bridged traffic through iptables); stop() puts back what it found.
SYSCTLS = (
    "net/ipv4/ip_forward",
    "net/ipv4/conf/all/route_localnet",
    "net/bridge/bridge-nf-call-iptables",
)
# Fixed paths written whatever the configuration says: the kubelet's links to the
# containers' logs and its device plugins' socket; containerd 1.6's shim sockets.
CONTAINER_LOGS = Path("/var/log/containers")
KUBELET_FIXED_ROOT = Path("/var/lib/kubelet")
SHIM_SOCKETS = Path("/run/containerd/s")
CGROUP_ROOT = Path("/sys/fs/cgroup")


class NodeError(SimError):
    """The real node did not come up (or down); the message holds the logs."""


def host_ip() -> str:
    """The address the host's default route leaves from: the node's InternalIP."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("203.0.113.1", 9))  # a UDP connect sends no packet
        return sock.getsockname()[0]


def run(*argv: str, check: bool = True, input: bytes | None = None) -> str:
    result = subprocess.run(argv, capture_output=True, input=input, check=False, timeout=120)
    if check and result.returncode != 0:
        raise NodeError(
            f"{' '.join(argv)} exited {result.returncode}: {result.stderr.decode(errors='replace')}"
        )
    return result.stdout.decode(errors="replace")


def pause_archive(path: Path) -> Path:
    """A docker-archive image of one layer holding the static pause binary."""
    layer = io.BytesIO()
    pause = binary("pause")
    with tarfile.open(fileobj=layer, mode="w") as tar, open(pause, "rb") as data:
        info = tar.gettarinfo(pause, arcname="pause")
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = 0
        tar.addfile(info, data)
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Entrypoint": ["/pause"], "User": "65535:65535"},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    ).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps(
        [{"Config": config_name, "RepoTags": [PAUSE_IMAGE], "Layers": ["layer.tar"]}]
    ).encode()
    with tarfile.open(path, "w") as archive:
        for name, data in (("layer.tar", layer_bytes), (config_name, config),
                           ("manifest.json", manifest)):  # fmt: skip
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


# RBAC for the node's identities: the kubelet gets the bootstrap `system:node`
# role for its own user (the API server runs RBAC only, no Node authorizer);
# kube-proxy's user is already bound by the bootstrap policy; CoreDNS reads
# what its kubernetes plugin watches.
def rbac(node_name: str) -> list[dict]:
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"titanium:node:{node_name}"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": "system:node"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                          "name": f"system:node:{node_name}"}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "titanium:coredns"},
            "rules": [
                {"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"],
                 "verbs": ["list", "watch"]},
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
                 "verbs": ["list", "watch"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "titanium:coredns"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": "titanium:coredns"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                          "name": "titanium:coredns"}],
        },
    ]  # fmt: skip


@dataclass
class RealNode:
    workdir: str
    name: str
    node_ip: str
    gateway: str
    socket: str
    components: list[Component] = field(default_factory=list)
    sysctls: dict[str, str] = field(default_factory=dict)
    made_log_dir: bool = False
    made_kubelet_root: bool = False
    made_shim_dir: bool = False
    # Set once this node has made its bridge: before that, the bridge, the
    # KUBE-* chains and the fixed paths may be another real node's.
    owns_host: bool = False
    started_in: float = 0.0
    # Where the state is saved after each process starts, so that a start-up
    # cut short can still be stopped from it.
    state_file: str = ""

    # -- paths and tools ---------------------------------------------------------

    @property
    def work(self) -> Path:
        return Path(self.workdir)

    def ctr(self, *args: str, check: bool = True, input: bytes | None = None) -> str:
        return run("ctr", "--address", self.socket, "-n", NAMESPACE, *args, check=check,
                   input=input)  # fmt: skip

    def import_image(self, archive: Path) -> None:
        """`ctr images import` of a docker-archive (what `podman save` writes)."""
        self.ctr("images", "import", "--no-unpack", str(archive))

    def images(self) -> dict[str, str]:
        """Each image reference the node's containerd holds, with its digest."""
        lines = self.ctr("images", "ls").splitlines()[1:]
        return {line.split()[0]: line.split()[2] for line in lines if line.strip()}

    def logs(self) -> str:
        return "\n".join(
            f"----- {c.name} ({'running' if alive(c) else 'NOT RUNNING'}), {c.log} -----\n"
            + tail(c.log)
            for c in self.components
        )

    # -- start -------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        cluster: SimCluster,
        workdir: str | Path,
        name: str = NODE_NAME,
        timeout: float = 180,
        state_file: Path | None = None,
    ) -> RealNode:
        """Start containerd, the kubelet, kube-proxy and CoreDNS, and return once the
        node is Ready; when this raises, what had started is stopped. With
        state_file, the state is saved there as each piece starts."""
        began = time.monotonic()
        work = Path(workdir).resolve()
        work.mkdir(parents=True, exist_ok=True)
        gateway = str(next(ipaddress.ip_network(POD_SUBNET).hosts()))
        sock = str(work / "containerd" / "containerd.sock")
        node = cls(str(work), name, host_ip(), gateway, sock, state_file=str(state_file or ""))
        node._saved()
        try:
            node._start(cluster, began + timeout)
        except BaseException:
            node.stop()
            raise
        node.started_in = round(time.monotonic() - began, 1)
        node._saved()
        return node

    def _launch(self, name: str, argv: list[str]) -> None:
        self.components.append(start_component(name, argv, self.work / "logs"))
        self._saved()

    def _saved(self) -> None:
        if self.state_file:
            self.save(Path(self.state_file))

    def _start(self, cluster: SimCluster, deadline: float) -> None:
        work = self.work
        (work / "logs").mkdir(exist_ok=True)
        pki = Path(cluster.workdir) / "pki"
        kubeconfigs = {
            component: write_kubeconfig(
                work / f"{component}.kubeconfig",
                cluster.server,
                pki / "ca.crt",
                issue_client(pki, f"node-{component}", common, group),
                common,
            )
            for component, common, group in (
                ("kubelet", f"system:node:{self.name}", "system:nodes"),
                ("kube-proxy", "system:kube-proxy", None),
                ("coredns", "titanium:coredns", None),
            )
        }
        objects = {"apiVersion": "v1", "kind": "List", "items": rbac(self.name)}
        cluster.kubectl("apply", "-f", "-", input=json.dumps(objects))
        self.made_log_dir = not CONTAINER_LOGS.exists()
        self.made_kubelet_root = not KUBELET_FIXED_ROOT.exists()
        self.made_shim_dir = not SHIM_SOCKETS.parent.exists()
        self._bridge()
        self._set_sysctls()
        self._containerd()
        self.import_image(pause_archive(work / "pause.tar"))
        self._kubelet(kubeconfigs["kubelet"])
        self._kube_proxy(kubeconfigs["kube-proxy"])
        self._coredns(kubeconfigs["coredns"])
        while self.name not in cluster.ready_nodes():
            self._check_running()
            if time.monotonic() > deadline:
                raise NodeError(f"node {self.name} not Ready in time\n{self.logs()}")
            time.sleep(0.5)

    def _set_sysctls(self) -> None:
        for key in SYSCTLS:
            path = Path("/proc/sys") / key
            self.sysctls[key] = path.read_text().strip()
            path.write_text("1")

    def _bridge(self) -> None:
        """The bridge the CNI plugin attaches pods to, made first so CoreDNS can
        listen on its gateway address before any pod exists."""
        prefix = ipaddress.ip_network(POD_SUBNET).prefixlen
        if Path(f"/sys/class/net/{BRIDGE}").exists():
            raise NodeError(f"{BRIDGE} exists: another real node runs on this host (one at a time)")
        run("ip", "link", "add", BRIDGE, "type", "bridge")
        self.owns_host = True
        self._saved()
        run("ip", "addr", "add", f"{self.gateway}/{prefix}", "dev", BRIDGE)
        run("ip", "link", "set", BRIDGE, "up")
        net_d = self.work / "cni" / "net.d"
        net_d.mkdir(parents=True, exist_ok=True)
        # No ipMasq and no portmap: nothing here reaches beyond the host, and
        # neither leaves iptables rules of its own.
        conflist = {
            "cniVersion": "1.0.0",
            "name": CNI_NETWORK,
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": BRIDGE,
                    "isGateway": True,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": POD_SUBNET, "gateway": self.gateway}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": str(self.work / "cni" / "ipam"),
                    },
                }
            ],
        }
        (net_d / "10-titanium.conflist").write_text(json.dumps(conflist, indent=2))

    def _containerd(self) -> None:
        work = self.work / "containerd"
        cri = 'plugins."io.containerd.grpc.v1.cri"'
        config = f"""\
version = 2
root = "{work / "root"}"
state = "{work / "state"}"

[grpc]
  address = "{self.socket}"

[ttrpc]
  address = ""

[debug]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{work / "opt"}"

[{cri}]
  sandbox_image = "{PAUSE_IMAGE}"
  # This machine refuses a negative oom_score_adj even for root: without this
  # every sandbox fails with runc's "can't get final child's PID from pipe".
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false

[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[{cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false
  Root = "{work / "runc"}"

[{cri}.cni]
  bin_dir = "{CNI_BIN}"
  conf_dir = "{self.work / "cni" / "net.d"}"
"""
        work.mkdir(parents=True, exist_ok=True)
        (work / "config.toml").write_text(config)
        containerd = shutil.which("containerd") or "/usr/bin/containerd"
        self._launch("containerd", [containerd, "--config", str(work / "config.toml")])
        deadline = time.monotonic() + 30
        serving = re.compile(r"^io\.containerd\.grpc\.v1\s+cri\s.*\sok\s*$", re.MULTILINE)
        while not serving.search(self.ctr("plugins", "ls", check=False)):
            self._check_running()
            if time.monotonic() > deadline:
                raise NodeError(f"containerd did not serve its CRI plugin\n{self.logs()}")
            time.sleep(0.3)

    def _kubelet(self, kubeconfig: Path) -> None:
        root = self.work / "kubelet"
        root.mkdir(exist_ok=True)
        config = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "address": self.node_ip,
            "port": free_port(),
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": free_port(),
            "containerRuntimeEndpoint": f"unix://{self.socket}",
            # cgroups v1 (hybrid) here: allowed explicitly, with the cgroupfs driver
            # (no systemd as PID 1 either).
            "failCgroupV1": False,
            "cgroupDriver": "cgroupfs",
            # The API server reaches the kubelet (logs, exec) without a client
            # certificate: it listens on the host's address only for this rehearsal.
            "authentication": {"anonymous": {"enabled": True}, "webhook": {"enabled": False}},
            "authorization": {"mode": "AlwaysAllow"},
            "clusterDNS": [self.gateway],
            "clusterDomain": "cluster.local",
            "resolvConf": "/etc/resolv.conf",
            "failSwapOn": False,
            "podLogsDir": str(self.work / "pod-logs"),
            "volumePluginDir": str(root / "volume-plugins"),
            "registerWithTaints": [TAINT],
            "maxPods": 40,
            "serializeImagePulls": False,
            # The disk is shared with the rest of the machine: evict only when
            # it is really full.
            "evictionHard": {"memory.available": "200Mi", "nodefs.available": "2%",
                             "imagefs.available": "2%", "nodefs.inodesFree": "2%"},
            "imageGCHighThresholdPercent": 99,
            "imageGCLowThresholdPercent": 98,
        }  # fmt: skip
        (root / "config.json").write_text(json.dumps(config, indent=2))
        argv = [
            binary("kubelet"),
            f"--config={root / 'config.json'}",
            f"--kubeconfig={kubeconfig}",
            f"--root-dir={root}",
            f"--cert-dir={root / 'pki'}",
            f"--hostname-override={self.name}",
            f"--node-ip={self.node_ip}",
            f"--node-labels={LABEL[0]}={LABEL[1]}",
            "--v=1",
        ]
        self._launch("kubelet", argv)

    def _kube_proxy(self, kubeconfig: Path) -> None:
        config = {
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
            "kind": "KubeProxyConfiguration",
            "clientConnection": {"kubeconfig": str(kubeconfig)},
            "mode": "iptables",
            "hostnameOverride": self.name,
            "clusterCIDR": POD_SUBNET,
            "bindAddress": "127.0.0.1",
            "healthzBindAddress": f"127.0.0.1:{free_port()}",
            "metricsBindAddress": f"127.0.0.1:{free_port()}",
            # Pods on one bridge reaching a Service backed by a pod on the same
            # bridge: the reply must come back through the host to be un-NATed.
            "iptables": {"masqueradeAll": True, "localhostNodePorts": True},
            # Leave the host's conntrack table as it is.
            "conntrack": {"maxPerCore": 0, "min": 0},
        }
        path = self.work / "kube-proxy.json"
        path.write_text(json.dumps(config, indent=2))
        self._launch("kube-proxy", [binary("kube-proxy"), f"--config={path}", "--v=1"])

    def _coredns(self, kubeconfig: Path) -> None:
        corefile = self.work / "Corefile"
        corefile.write_text(
            f""".:53 {{
    bind {self.gateway}
    errors
    health 127.0.0.1:{free_port()}
    kubernetes cluster.local in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig} titanium-sim
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }}
    forward . /etc/resolv.conf
    cache 5
}}
"""
        )
        self._launch("coredns", [binary("coredns"), "-conf", str(corefile)])

    def _check_running(self) -> None:
        dead = [c.name for c in self.components if not alive(c)]
        if dead:
            raise NodeError(f"exited during start-up: {', '.join(dead)}\n{self.logs()}")

    # -- stop --------------------------------------------------------------------

    def stop(self) -> list[str]:
        """Stop everything and clean up; returns what is left (empty when clean)."""
        by_name = {c.name: c for c in self.components}
        # The kubelet first, so it restarts nothing; then every container
        # through containerd, so each shim exits with its task.
        stop_components([c for c in self.components if c.name == "kubelet"])
        if "containerd" in by_name and alive(by_name["containerd"]):
            self._kill_containers()
        stop_components([c for c in self.components if c.name != "kubelet"])
        for pid in self._shims():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        self._unmount()
        if self.owns_host:
            run("ip", "link", "del", BRIDGE, check=False)
            self._remove_chains()
            self._remove_cgroups()
            self._remove_fixed_paths()
            for key, value in self.sysctls.items():
                with contextlib.suppress(OSError):
                    (Path("/proc/sys") / key).write_text(value)
        left = self.leftovers()
        if not left:
            shutil.rmtree(self.work, ignore_errors=True)
        return left

    def _kill_containers(self) -> None:
        ids = self.ctr("containers", "ls", "-q", check=False).split()
        for cid in ids:
            self.ctr("tasks", "kill", "--all", "--signal", "SIGKILL", cid, check=False)
        for cid in ids:
            deadline = time.monotonic() + 10
            while self.ctr("tasks", "delete", "--force", cid, check=False) and (
                time.monotonic() < deadline
            ):
                if cid not in self.ctr("tasks", "ls", "-q", check=False).split():
                    break
                time.sleep(0.2)
            self.ctr("containers", "delete", cid, check=False)

    def _shims(self) -> list[int]:
        """containerd-shim processes of this node's containerd (their command line
        names its socket)."""
        pids = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            with contextlib.suppress(OSError):
                argv = cmdline.read_bytes().split(b"\0")
                if argv[0].endswith(b"containerd-shim-runc-v2") and self.socket.encode() in argv:
                    pids.append(int(cmdline.parent.name))
        return pids

    def _mounts(self) -> list[str]:
        under = self.workdir.rstrip("/") + "/"
        points = []
        with contextlib.suppress(OSError):
            for line in Path("/proc/self/mountinfo").read_text().splitlines():
                point = line.split()[4].replace("\\040", " ")
                if point.startswith(under):
                    points.append(point)
        return points

    def _unmount(self) -> None:
        for point in sorted(set(self._mounts()), key=len, reverse=True):
            run("umount", "--lazy", point, check=False)

    @staticmethod
    def _chains() -> dict[str, dict[str, list[str]]]:
        """{iptables command: {table: [KUBE-* chains]}} in the host's tables."""
        found: dict[str, dict[str, list[str]]] = {}
        for command in ("iptables", "ip6tables"):
            if not shutil.which(f"{command}-save"):
                continue
            table = ""
            for line in run(f"{command}-save", check=False).splitlines():
                if line.startswith("*"):
                    table = line[1:]
                elif line.startswith(":KUBE-"):
                    found.setdefault(command, {}).setdefault(table, []).append(line[1:].split()[0])
        return found

    def _remove_chains(self) -> None:
        """kube-proxy's own clean-up, then whatever KUBE-* chain remains (the
        kubelet's canaries): no one else on this host runs a kube-proxy or kubelet."""
        if Path(binary("kube-proxy")).exists():
            run(binary("kube-proxy"), "--cleanup", "--v=0", check=False)
        for command, tables in self._chains().items():
            for table, chains in tables.items():
                rules = run(f"{command}-save", "-t", table, check=False).splitlines()
                for rule in rules:
                    if rule.startswith("-A ") and re.search(r" -j KUBE-", rule):
                        if rule.split()[1].startswith("KUBE-"):
                            continue  # goes with its chain
                        run(command, "-t", table, "-D", *rule.split()[1:], check=False)
                for chain in chains:
                    run(command, "-t", table, "-F", chain, check=False)
                for chain in chains:
                    run(command, "-t", table, "-X", chain, check=False)

    @staticmethod
    def _cgroups() -> list[Path]:
        return [p for p in CGROUP_ROOT.glob("*/kubepods*") if p.is_dir()]

    def _remove_cgroups(self) -> None:
        for top in self._cgroups():
            for directory in sorted(
                (p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True
            ):
                with contextlib.suppress(OSError):
                    directory.rmdir()
            with contextlib.suppress(OSError):
                top.rmdir()

    def _log_links(self) -> list[Path]:
        links = []
        with contextlib.suppress(OSError):
            for link in CONTAINER_LOGS.iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(link).startswith(self.workdir):
                        links.append(link)
        return links

    def _remove_fixed_paths(self) -> None:
        for link in self._log_links():
            link.unlink(missing_ok=True)
        if self.made_log_dir:
            with contextlib.suppress(OSError):
                CONTAINER_LOGS.rmdir()
        if self.made_kubelet_root:
            shutil.rmtree(KUBELET_FIXED_ROOT, ignore_errors=True)
        else:
            (KUBELET_FIXED_ROOT / "device-plugins" / "kubelet.sock").unlink(missing_ok=True)
        if self.made_shim_dir:
            for directory in (SHIM_SOCKETS, SHIM_SOCKETS.parent):
                with contextlib.suppress(OSError):
                    directory.rmdir()  # only if empty: a socket left means a shim left

    def leftovers(self) -> list[str]:
        """What of this node still exists on the host: an empty list when clean."""
        left = [f"process {c.name}" for c in self.components if alive(c)]
        left += [f"shim pid {pid}" for pid in self._shims()]
        left += [f"mount {point}" for point in self._mounts()]
        if not self.owns_host:
            return left
        if Path(f"/sys/class/net/{BRIDGE}").exists():
            left.append(f"bridge {BRIDGE}")
        left += [
            f"{command} {table} chain {chain}"
            for command, tables in self._chains().items()
            for table, chains in tables.items()
            for chain in chains
        ]
        left += [f"cgroup {path}" for path in self._cgroups()]
        left += [f"log link {link}" for link in self._log_links()]
        for made, directory in ((self.made_log_dir, CONTAINER_LOGS),
                                (self.made_kubelet_root, KUBELET_FIXED_ROOT),
                                (self.made_shim_dir, SHIM_SOCKETS.parent)):  # fmt: skip
            if made and directory.exists():
                left.append(f"directory {directory}")
        return left

    # -- state -------------------------------------------------------------------

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> RealNode:
        data = json.loads(path.read_text())
        data["components"] = [Component(**c) for c in data["components"]]
        return cls(**data)
