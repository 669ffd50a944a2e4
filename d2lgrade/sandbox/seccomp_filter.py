"""The seccomp filter of the sandbox, written as BPF to standard output.

Run with the system interpreter, which has Debian's ``python3-seccomp`` (libseccomp's own binding):
``/usr/bin/python3 -I d2lgrade/sandbox/seccomp_filter.py [--no-network] > filter.bpf``; the kernel loads the
result as the last step of entering its sandbox (:mod:`d2lgrade.sandbox.enter`). ``--no-network`` also refuses
sockets of any family but AF_UNIX and AF_NETLINK (which glibc uses to list interfaces, and which
changes nothing without CAP_NET_ADMIN): the container mode's network rule, where no network
namespace can be made; ``--no-queues`` refuses ``mq_open``, where the grader cannot list POSIX message queues to
remove them between submissions. This file imports nothing from d2lgrade, so it
runs outside the project's environment; :func:`d2lgrade.sandbox.kernels.seccomp_program` calls it once per
grader process.

Everything a Python kernel, numpy and MXNet need stays allowed; calls that reach other processes,
change namespaces or mounts, or open kernel attack surface fail with EPERM (so that libraries that
merely probe them carry on).
"""

from __future__ import annotations

import errno
import sys

DENIED = (
    # other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "pidfd_open",
    # namespaces, mounts, root
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen",
    "fsconfig", "fsmount", "fspick", "mount_setattr", "open_by_handle_at", "name_to_handle_at",
    # kernel keyring, BPF, perf, userfaultfd, io_uring
    "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd", "io_uring_setup",
    "io_uring_enter", "io_uring_register",
    # the machine itself
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon", "swapoff",
    "acct", "quotactl", "syslog", "iopl", "ioperm", "settimeofday", "clock_settime", "adjtimex", "clock_adjtime",
    "lookup_dcookie", "vhangup", "nfsservctl",
)
"""System calls that fail with EPERM inside the sandbox."""

CLONE_NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
"""CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET: clone() may not make namespaces."""


AF_UNIX, AF_NETLINK, AF_MAX = 1, 16, 64


def build(no_network: bool = False, no_queues: bool = False) -> object:
    import seccomp  # Debian's python3-seccomp

    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in DENIED:
        try:
            rules.add_rule(seccomp.ERRNO(errno.EPERM), name)
        except (RuntimeError, ValueError, OSError):  # a call this architecture does not have
            continue
    for flag in CLONE_NAMESPACE_FLAGS:  # one rule per flag: a call with any of them set is refused
        rules.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    # clone3 passes its flags in memory, where seccomp cannot look: make libc fall back to clone().
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    if no_network:  # the kernel talks to the grader over Unix sockets only
        rules.add_rule(seccomp.ERRNO(errno.EPERM), "socket", seccomp.Arg(0, seccomp.GE, AF_MAX))
        for family in range(AF_MAX):  # libseccomp compares an argument once per rule: one rule per family
            if family not in (AF_UNIX, AF_NETLINK):
                rules.add_rule(seccomp.ERRNO(errno.EPERM), "socket", seccomp.Arg(0, seccomp.EQ, family))
    if no_queues:  # POSIX message queues, where the grader cannot list them to remove them
        rules.add_rule(seccomp.ERRNO(errno.EPERM), "mq_open")
    return rules


def main() -> int:
    flags = sys.argv[1:]
    build(no_network="--no-network" in flags, no_queues="--no-queues" in flags).export_bpf(  # type: ignore[attr-defined]
        sys.stdout.buffer)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
