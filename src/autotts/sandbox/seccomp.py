"""OS layers the sandbox child puts on itself after trusted setup, before the candidate runs.

They assume the candidate may execute arbitrary code in its process (the Python policy and the
audit hook defeated), so they are kernel-enforced and cannot be undone from inside:

* **unprivileged**: a child running as root drops to ``nobody`` (uid/gid 65534, no groups);
* **no_new_privs** and a **seccomp-BPF filter** (x86-64) that kills the process on system calls
  a controller never needs: creating processes or programs (``fork``, ``execve``, ``clone``
  without ``CLONE_THREAD``), sockets of any kind, signals to other processes (``kill``;
  ``tgkill`` only to itself), opening any file for writing and every call that changes the
  file system, ``ptrace`` and cross-process memory access, namespaces, mounts, privilege and
  rlimit changes, kernel keyrings, BPF, perf, ``io_uring`` (which would bypass the filter) and
  module loading;
* **RLIMIT_NPROC** = 0 once unprivileged: no new processes even if a call slipped through.

A process killed by the filter dies of ``SIGSYS``; the parent reports that as ``policy``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import resource
import struct

NOBODY = 65534
AUDIT_ARCH_X86_64 = 0xC000003E
_X32_BIT = 0x40000000

# classic BPF
_LD_W_ABS, _JEQ_K, _JGE_K, _JSET_K, _RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
RET_ALLOW = 0x7FFF0000
_ENOSYS = 38
_OFF_NR, _OFF_ARCH, _OFF_ARGS = 0, 4, 16

CLONE_THREAD = 0x10000
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

# x86-64 system call numbers (asm/unistd_64.h; a test checks them against the header)
DENIED_X86_64: dict[str, int] = {
    # processes and programs
    "fork": 57, "vfork": 58, "execve": 59, "execveat": 322,
    # signals to others
    "kill": 62, "tkill": 200, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297,
    "pidfd_open": 434, "pidfd_send_signal": 424, "pidfd_getfd": 438,
    # network (and unix sockets)
    "socket": 41, "connect": 42, "accept": 43, "bind": 49, "listen": 50, "socketpair": 53,
    "accept4": 288,
    # other processes' memory
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
    "process_madvise": 440, "process_mrelease": 448,
    # namespaces, mounts, roots
    "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272,
    "setns": 308, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
    "fsmount": 432, "fspick": 433, "mount_setattr": 442,
    # identity, privileges, limits
    "setuid": 105, "setgid": 106, "setreuid": 113, "setregid": 114, "setgroups": 116,
    "setresuid": 117, "setresgid": 119, "setfsuid": 122, "setfsgid": 123, "capset": 126,
    "prctl": 157, "seccomp": 317, "personality": 135, "setrlimit": 160, "setpriority": 141,
    # kernel facilities a controller never needs
    "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321, "perf_event_open": 298,
    "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "kexec_load": 246, "kexec_file_load": 320, "init_module": 175,
    "finit_module": 313, "delete_module": 176, "reboot": 169, "swapon": 167, "swapoff": 168,
    "acct": 163, "quotactl": 179, "quotactl_fd": 443, "ioperm": 173, "iopl": 172,
    "open_by_handle_at": 304, "name_to_handle_at": 303,
    # changing the file system
    "creat": 85, "mknod": 133, "mknodat": 259, "unlink": 87, "unlinkat": 263, "rename": 82,
    "renameat": 264, "renameat2": 316, "mkdir": 83, "mkdirat": 258, "rmdir": 84, "link": 86,
    "linkat": 265, "symlink": 88, "symlinkat": 266, "chmod": 90, "fchmod": 91, "fchmodat": 268,
    "chown": 92, "fchown": 93, "lchown": 94, "fchownat": 260, "truncate": 76, "ftruncate": 77,
    "utime": 132, "utimes": 235, "utimensat": 280, "futimesat": 261, "setxattr": 188,
    "lsetxattr": 189, "fsetxattr": 190, "removexattr": 197, "lremovexattr": 198,
    "fremovexattr": 199,
}  # fmt: skip
# allowed only with conditions on their arguments
CONDITIONAL_X86_64 = {"clone": 56, "open": 2, "openat": 257, "tgkill": 234, "prlimit64": 302}
# answered ENOSYS, so libc falls back to a call the filter can inspect
ENOSYS_X86_64 = {"clone3": 435, "openat2": 437}


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k & 0xFFFFFFFF)


def _arg(n: int, high: bool = False) -> int:
    return _OFF_ARGS + 8 * n + (4 if high else 0)  # little-endian: low word first


def filter_program(pid: int) -> bytes:
    """The x86-64 filter as BPF instructions. ``pid`` is the process's own (namespace) pid:
    ``tgkill`` may signal only it (``raise``/``abort``)."""
    kill, allow = _insn(_RET_K, 0, 0, RET_KILL_PROCESS), _insn(_RET_K, 0, 0, RET_ALLOW)
    load_nr = _insn(_LD_W_ABS, 0, 0, _OFF_NR)
    out = [
        _insn(_LD_W_ABS, 0, 0, _OFF_ARCH),
        _insn(_JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
        kill,
        load_nr,
        _insn(_JGE_K, 0, 1, _X32_BIT),  # the x32 ABI: another numbering
        kill,
    ]
    for nr in sorted(DENIED_X86_64.values()):
        out += [_insn(_JEQ_K, 0, 1, nr), kill]
    for nr in sorted(ENOSYS_X86_64.values()):
        out += [_insn(_JEQ_K, 0, 1, nr), _insn(_RET_K, 0, 0, RET_ERRNO | _ENOSYS)]

    def flag_block(nr: int, offset: int, flags: int, allowed_when_set: bool) -> list[bytes]:
        # nr? -> load the argument; jset flags -> (allow | kill), else the other
        ok_set, ok_clear = (0, 1) if allowed_when_set else (1, 0)
        return [
            _insn(_JEQ_K, 0, 4, nr),
            _insn(_LD_W_ABS, 0, 0, offset),
            _insn(_JSET_K, ok_set, ok_clear, flags),
            allow,
            kill,
        ]

    out += flag_block(CONDITIONAL_X86_64["clone"], _arg(0), CLONE_THREAD, True)
    out += flag_block(CONDITIONAL_X86_64["open"], _arg(1), WRITE_FLAGS, False)
    out += flag_block(CONDITIONAL_X86_64["openat"], _arg(2), WRITE_FLAGS, False)
    out += [  # tgkill(tgid, ...): only its own
        _insn(_JEQ_K, 0, 4, CONDITIONAL_X86_64["tgkill"]),
        _insn(_LD_W_ABS, 0, 0, _arg(0)),
        _insn(_JEQ_K, 0, 1, pid),
        allow,
        kill,
    ]
    out += [  # prlimit64(pid, resource, new, old): reading only (new == NULL)
        _insn(_JEQ_K, 0, 6, CONDITIONAL_X86_64["prlimit64"]),
        _insn(_LD_W_ABS, 0, 0, _arg(2)),
        _insn(_JEQ_K, 0, 3, 0),
        _insn(_LD_W_ABS, 0, 0, _arg(2, high=True)),
        _insn(_JEQ_K, 0, 1, 0),
        allow,
        kill,
    ]
    out.append(allow)
    return b"".join(out)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_PR_SET_NO_NEW_PRIVS = 38
_SYS_SECCOMP = 317
_SECCOMP_SET_MODE_FILTER = 1
_SECCOMP_FILTER_FLAG_TSYNC = 1


def seccomp_supported() -> str | None:
    """None if this host can take the filter, else why not (one phrase)."""
    if platform.system() != "Linux":
        return f"seccomp is Linux-only (this is {platform.system()})"
    if platform.machine() not in ("x86_64", "AMD64"):
        return f"the seccomp filter is written for x86-64 (this is {platform.machine()})"
    return None


def install_filter() -> None:
    """Set no_new_privs and load the filter on every thread of this process (raises OSError
    if the kernel refuses)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    program = filter_program(os.getpid())
    buf = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    libc.syscall.restype = ctypes.c_long
    rc = libc.syscall(
        _SYS_SECCOMP, _SECCOMP_SET_MODE_FILTER, _SECCOMP_FILTER_FLAG_TSYNC, ctypes.byref(prog)
    )
    if rc != 0:
        raise OSError(ctypes.get_errno(), "seccomp(SECCOMP_SET_MODE_FILTER) failed")


def drop_privileges() -> bool:
    """If running as root, become ``nobody`` for good; returns whether it changed anything."""
    if os.geteuid() != 0 and os.getuid() != 0:
        return False
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)
    return True


def no_new_processes() -> None:
    """RLIMIT_NPROC = 0 (effective for an unprivileged user: root ignores it)."""
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))


def lock_down(seccomp: bool = True) -> list[str]:
    """Apply every layer this host supports, in the order that keeps each possible; returns
    the layers that could not be applied, each as a phrase (the caller reports them).
    ``seccomp=False`` (``AUTOTTS_SANDBOX_SECCOMP=off``) leaves the filter off on purpose."""
    missing = []
    try:
        drop_privileges()
    except OSError as e:
        missing.append(f"dropping root ({e})")
    if os.geteuid() != 0:
        no_new_processes()
    problem = seccomp_supported() if seccomp else "switched off by AUTOTTS_SANDBOX_SECCOMP=off"
    if problem is None:
        try:
            install_filter()
        except (OSError, AttributeError) as e:
            problem = f"the kernel refused the seccomp filter ({e})"
    if problem is not None:
        missing.append(problem)
    return missing
