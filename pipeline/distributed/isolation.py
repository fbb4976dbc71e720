"""Linux isolation of the local workers of train-cluster: a private network, and death with the launcher.

TensorFlow's worker servers accept unauthenticated connections on every interface, so the launcher
re-executes itself in a user and network namespace of its own (unshare), where loopback, which it
brings up, is the only interface; and each worker asks the kernel to kill it when its parent dies, so
a killed launcher leaves no workers behind. Other systems get neither (the launcher says so).
"""
import ctypes
import fcntl
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys

INSIDE_NAMESPACE = "ECHO_PIPELINE_NETNS"  # set in the re-executed launcher inside its namespace


def die_with_parent(sig=signal.SIGKILL) -> None:
    """Linux: have the kernel send `sig` to this process when its parent dies."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, int(sig))  # PR_SET_PDEATHSIG


def private_network_possible() -> bool:
    unshare = shutil.which("unshare")
    return bool(unshare) and subprocess.run([unshare, "--user", "--map-root-user", "--net", "true"],
                                            capture_output=True).returncode == 0


def inside_namespace() -> bool:
    return os.environ.get(INSIDE_NAMESPACE) == "1"


def loopback_up() -> None:
    """Bring up `lo` in a fresh network namespace (it starts down), as `ip link set lo up` would."""
    SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        flags = struct.unpack("16sH", fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack("16sH", b"lo", 0))[:18])[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP))


def run_in_namespace(argv: list) -> int:
    """Run `python -m pipeline ARGV` again inside a new user + network namespace; returns its exit status."""
    cmd = ["unshare", "--user", "--map-root-user", "--net", "--", sys.executable, "-m", "pipeline", *argv]
    proc = subprocess.Popen(cmd, env={**os.environ, INSIDE_NAMESPACE: "1"})
    previous = signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        return proc.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
