#!/usr/bin/python3
"""Runs a command under systemd's MemoryDenyWriteExecute=yes, for hosts where systemd is not
PID 1: the same seccomp rules systemd 252 installs (src/shared/seccomp-util.c,
seccomp_memory_deny_write_execute), each failing the call with EPERM: mmap asking for
memory both writable and executable, mprotect and pkey_mprotect adding execute, shmat with
SHM_EXEC. Usage: mdwe_exec.py COMMAND [ARG...] (exec: same PID)."""
import os
import sys

import seccomp

PROT_WRITE, PROT_EXEC, SHM_EXEC = 0x2, 0x4, 0o100000

rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
deny = seccomp.ERRNO(1)  # EPERM
wx = PROT_WRITE | PROT_EXEC
rules.add_rule(deny, "mmap", seccomp.Arg(2, seccomp.MASKED_EQ, wx, wx))
rules.add_rule(deny, "mprotect", seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, PROT_EXEC))
rules.add_rule(deny, "pkey_mprotect", seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, PROT_EXEC))
rules.add_rule(deny, "shmat", seccomp.Arg(2, seccomp.MASKED_EQ, SHM_EXEC, SHM_EXEC))
rules.load()
os.execvp(sys.argv[1], sys.argv[1:])
