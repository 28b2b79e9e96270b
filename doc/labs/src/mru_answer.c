/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mru_answer.c - one answer to lab 5 (read it after you have tried):
 * most recently used.  On a loop over more pages than frames, LRU, CLOCK
 * and FIFO evict exactly the page the loop needs soonest, so every access
 * misses; evicting the page loaded last keeps the rest of the array
 * resident, and each pass misses only the pages that do not fit.  It is
 * as bad a policy as any on a program with locality (question 5).
 *
 * Build: cc -shared -fPIC $(pkg-config --cflags dpemu) -o mru.so mru_answer.c
 */
#include <dpemu.h>

static size_t pick(void *state, struct dpemu_frame_view *frames, size_t n, uint64_t now,
                   uint64_t now_ns)
{
	(void)state, (void)frames, (void)now, (void)now_ns;
	return n - 1; /* the youngest */
}

const struct dpemu_policy_ops dpemu_policy_plugin = {
	.name = "mru",
	.pick = pick,
};
