#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write the seed corpus of fuzz/fuzz_api.c into fuzz/corpus/ (or argv[1]).

Each seed is a small hand-written program in the harness's byte code (see
the op_* functions of fuzz_api.c): three header bytes (policy and page
size, frames and swap, fault-around and populate), then operations, each an
opcode byte (taken mod 16) and its arguments.  Seeds cover every policy,
page sizes 1x/2x/4x, fault-around, small swap stores, every kind of
mapping, fork, sync, prefault, bad arguments and eviction pressure.
Run: python3 fuzz/gen_corpus.py   (rewrites the gen-* files; files that
libFuzzer found or that reproduce a fixed crash keep their own names).
"""
import os
import sys

CREATE, MAP, UNMAP, PROTECT, FORK, WRITE, READ, WMANY, RMANY, SYNC, DESTROY, \
    QUERY, PREFAULT, BAD, SYSCALL = 0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
# map kind bits: 1 shared, 2 file, 0x10 fixed, 0x20 read-only fd, 0x40 half a page short
ANON_P, ANON_S, FILE_P, FILE_S = 0x00, 0x01, 0x02, 0x03
FIXED, RO = 0x10, 0x20
# prot index into the harness's prots[]: 0 rw, 1 r, 3 none, 4 w, 5 rx, 6 rwx


def hdr(policy, frames, ps_shift=0, fa=0, populate=False, small_swap=None):
    b0 = policy | (ps_shift << 4)
    b1 = ((frames - 4) & 15)
    if small_swap is not None:
        b1 |= 0x80 | ((small_swap - 1) << 4)
    b2 = fa | (4 if populate else 0)
    return bytes([b0, b1, b2])


def op(code, *args):
    return bytes([code] + list(args))


def workload(kind, prot=0):
    """Map 4 pages of `kind` at page 0, write, read, unmap part, read back."""
    return (op(MAP, 0, 0, 3, kind | FIXED, prot) + op(WRITE, 0, 0, 5, 40, 7) +
            op(WRITE, 0, 1, 0x85, 30, 9) + op(READ, 0, 1, 0x85, 60, 0) +
            op(WMANY, 0, 0, 3, 4, 1) + op(RMANY, 0, 0, 3, 4, 0) +
            op(SYNC, 0, 0, 4) + op(UNMAP, 0, 2, 1) + op(READ, 0, 2, 0, 8, 0))


def pressure():
    """Two spaces, more dirty pages than frames: eviction and swap."""
    return (op(MAP, 0, 0, 3, ANON_P | FIXED, 0) + op(MAP, 0, 4, 3, FILE_S | FIXED, 0) +
            op(CREATE, 1, 12) + op(MAP, 1, 0, 3, ANON_S, 0) +
            op(WMANY, 0, 0, 9, 7, 3) + op(WMANY, 1, 0, 1, 3, 5) +
            op(RMANY, 0, 0, 9, 7, 0) + op(RMANY, 1, 0, 1, 3, 0) +
            op(WMANY, 0, 4, 2, 3, 8) + op(SYNC, 0, 0, 7) + op(RMANY, 0, 0, 3, 7, 0))


def forking():
    return (op(MAP, 0, 0, 1, ANON_P | FIXED, 0) + op(MAP, 0, 2, 1, ANON_S | FIXED, 0) +
            op(MAP, 0, 4, 1, FILE_S | FIXED, 0) + op(MAP, 0, 6, 1, FILE_P | FIXED | 0x8, 0) +
            op(WMANY, 0, 0, 3, 7, 1) + op(FORK, 0) + op(WRITE, 1, 0, 0, 20, 44) +
            op(WRITE, 0, 2, 0, 20, 55) + op(READ, 1, 2, 0, 20, 0) + op(READ, 0, 0, 0, 20, 0) +
            op(WRITE, 1, 4, 0, 9, 66) + op(FORK, 1) + op(UNMAP, 0, 4, 1) + op(DESTROY, 1) +
            op(READ, 2, 4, 0, 9, 0) + op(RMANY, 2, 0, 1, 7, 0))


def faults():
    """Unmapped, protection, W-only, PROT_NONE, prefault errors."""
    return (op(MAP, 0, 0, 1, ANON_P | FIXED, 1) + op(WRITE, 0, 0, 0, 4, 1) +
            op(READ, 0, 3, 0, 4, 0) + op(PROTECT, 0, 0, 1, 3) + op(READ, 0, 0, 0, 4, 0) +
            op(PROTECT, 0, 0, 0, 4) + op(WRITE, 0, 0, 0, 4, 2) + op(READ, 0, 0, 0, 4, 0) +
            op(PREFAULT, 0, 0, 3, 1) + op(PREFAULT, 0, 6, 1, 0) + op(PROTECT, 0, 6, 1, 0) +
            op(MAP, 0, 1, 0, FILE_S | FIXED | RO, 1) + op(PROTECT, 0, 1, 0, 0) +
            op(MAP, 0, 2, 0, FILE_S | RO, 0) + op(QUERY, 0, 3) + op(QUERY, 0, 4))


def syscalls():
    """read(2)/write(2) of lazy, shared-file, read-only and unmapped pages."""
    return (op(MAP, 0, 0, 1, ANON_P | FIXED, 0) + op(MAP, 0, 2, 1, FILE_S | FIXED, 0) +
            op(MAP, 0, 4, 0, ANON_P | FIXED, 1) +
            op(SYSCALL, 0, 0, 3, 0x80 | 40, 7) + op(SYSCALL, 0, 0, 3, 40, 0) +
            op(SYSCALL, 0, 2, 0x85, 0x80 | 60, 9) + op(SYSCALL, 0, 2, 0x85, 60, 0) +
            op(SYSCALL, 0, 4, 0x90, 0x80 | 63, 3) + op(SYSCALL, 0, 4, 0x90, 63, 0) +
            op(FORK, 0) + op(SYSCALL, 1, 0, 0, 0x80 | 20, 5) + op(UNMAP, 0, 2, 0))


def bad():
    return b"".join(op(BAD, 0, w) for w in range(16))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    os.makedirs(out, exist_ok=True)
    seeds = {}
    kinds = {"anon-private": ANON_P, "anon-shared": ANON_S, "file-private": FILE_P,
             "file-shared": FILE_S}
    for pol, pname in enumerate(["none", "fifo", "clock", "lru", "random"]):
        for kname, k in kinds.items():
            seeds["gen-%s-%s" % (pname, kname)] = hdr(pol, 4 + pol, pol % 3, pol % 4) + workload(k)
        seeds["gen-%s-pressure" % pname] = hdr(pol, 4, 0, 0) + pressure()
        seeds["gen-%s-pressure-fa" % pname] = hdr(pol, 6, 1, 3, pol == 2) + pressure()
        seeds["gen-%s-fork" % pname] = hdr(pol, 5, pol % 2, 0) + forking()
        seeds["gen-%s-faults" % pname] = hdr(pol, 8, 0, 1) + faults()
        seeds["gen-%s-syscalls" % pname] = hdr(pol, 4, pol % 2, 0) + syscalls()
        if pol:
            seeds["gen-%s-smallswap" % pname] = hdr(pol, 4, 0, 0, False, 2) + pressure()
    seeds["gen-none-bad"] = hdr(0, 4) + bad()
    seeds["gen-none-full"] = hdr(0, 4) + op(MAP, 0, 0, 7, ANON_S, 0) + op(WMANY, 0, 0, 0, 7, 1)
    seeds["gen-none-zero"] = hdr(0, 4) + op(MAP, 0, 0, 7, ANON_P, 1) + op(RMANY, 0, 0, 0, 7, 0)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("%d seeds in %s" % (len(seeds), out))


if __name__ == "__main__":
    main()
