/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * second_chance_dirty.c - the enhanced second-chance (clock) policy of
 * the textbooks, as a dpemu custom policy (dpemu_policy(7), "Writing a
 * policy").  A frame is in one of four classes by its (referenced, dirty)
 * bits; the victim is the first frame, from the hand, of the best class:
 *
 *   (0, 0)  not used lately, clean: evicting it costs nothing
 *   (0, 1)  not used lately, dirty: costs a write to swap
 *   (1, 0)  used lately, clean: will probably be used again
 *   (1, 1)  used lately, dirty
 *
 * The hand is the old end of the load order (frames[0]).  Pass 1 looks
 * for (0, 0) and changes nothing.  Pass 2 looks for (0, 1), and every
 * used frame it passes loses its reference bit (clear) and goes behind
 * the hand (requeue), as CLOCK does.  If every frame was used, they have
 * all lost their bits now: the first clean one goes, else the oldest.
 *
 * Build:  cc -shared -fPIC -o second_chance_dirty.so second_chance_dirty.c
 * Use:    dpemu run --policy-lib ./second_chance_dirty.so --frames 64 -- PROGRAM
 *         dpemu replay --policy-lib ./second_chance_dirty.so --frames 4 FILE
 *
 * It keeps no state, so it needs no init or fini.  pick runs on the fault
 * path: it only reads and writes the array it is given.
 */
#include <dpemu.h>

static size_t pick(void *state, struct dpemu_frame_view *f, size_t n, uint64_t now,
                   uint64_t now_ns)
{
	(void)state, (void)now, (void)now_ns;

	for (size_t i = 0; i < n; i++) /* pass 1: (0, 0) */
		if (!f[i].referenced && !f[i].dirty)
			return i;
	for (size_t i = 0; i < n; i++) { /* pass 2: (0, 1), clearing as it goes */
		if (!f[i].referenced)
			return i;
		f[i].clear = 1;
		f[i].requeue = 1;
	}
	for (size_t i = 0; i < n; i++) /* all were used: the first clean one */
		if (!f[i].dirty)
			return i;
	return 0;
}

/* What dpemu run and dpemu replay look for in the shared object. */
const struct dpemu_policy_ops dpemu_policy_plugin = {
	.name = "second-chance-dirty",
	.pick = pick,
};
