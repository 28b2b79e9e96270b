/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mypolicy.c - lab 5: your replacement policy.  As given, it is FIFO: the
 * victim is always frames[0], the frame loaded longest ago.  Change pick
 * (and the name) to beat CLOCK on ./loop; dpemu_policy(7), "Writing a
 * policy", says what you are shown and what you may do.
 *
 * Build: cc -shared -fPIC $(pkg-config --cflags dpemu) -o mypolicy.so mypolicy.c
 *
 * pick runs on the fault path (inside a signal handler, with the pool's
 * lock held): use only the array you are given and memory of your own;
 * no malloc, no printf.
 */
#include <dpemu.h>

/*
 * frames[0 .. n): every frame you may take, oldest loaded first.  For
 * each: .frame (its number), .loaded (the clock when it was loaded),
 * .referenced (used since its bit was last cleared), .dirty (written
 * since loaded), .pages (pages that map it).  now: the clock (frames
 * loaded so far).  Return the index of the victim.  For the others you
 * may set .clear = 1 (clear the reference bit: the page traps on its next
 * use, which sets it again) and .requeue = 1 (move it to the young end).
 */
static size_t pick(void *state, struct dpemu_frame_view *frames, size_t n, uint64_t now,
                   uint64_t now_ns)
{
	(void)state, (void)frames, (void)n, (void)now, (void)now_ns;
	return 0; /* FIFO: the oldest */
}

const struct dpemu_policy_ops dpemu_policy_plugin = {
	.name = "mine",
	.pick = pick,
};
