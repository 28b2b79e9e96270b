/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * latency.c - the fault latency histograms (struct lat_stripe, internal.h):
 * counting one fault, adding histograms up, and reading percentiles off
 * the sum.
 *
 * Fault path: lat_add (plain stores into the stripe's histogram, which the
 * caller's stripe lock guards; no call).  lat_merge and lat_summary are API
 * side (dpemu_space_latency, api/observe.c), on the caller's local copy.
 *
 * Buckets: log-linear, as HdrHistogram's.  A value v below 64 ns falls in
 * bucket v / 8; from 64 ns on, each power of two [2^k, 2^(k+1)) is split
 * into 8 buckets of width 2^(k-3), so a bucket's width is at most 1/8 of
 * any value in it.  A percentile is read as the middle of its bucket,
 * clamped to the exact minimum and maximum: within 1/16 of the true
 * value, 1/8 whatever the rounding.  Values from 2^32 ns (4.3 s) on share
 * the last bucket (their percentiles are clamped to the exact maximum).
 *
 * Layer: base (src/internal.h).  Calls: nothing.
 */
#include <string.h>

#include "internal.h"

atomic_bool _dpemu_latency_off;

_Static_assert(sizeof(struct lat_stripe) == 8192, "two pages per stripe");
_Static_assert(LAT_KINDS <= 16, "lat_kinds is a 16-bit mask");

#define LAT_LINEAR 64u     /* below: buckets of 8 ns          */
#define LAT_FIRST_OCTAVE 6 /* 2^6 = LAT_LINEAR                */

/* The bucket of a latency of v nanoseconds. */
static unsigned lat_bucket(uint64_t v)
{
	if (v < LAT_LINEAR)
		return (unsigned)(v >> 3);
	unsigned k = 63u - (unsigned)__builtin_clzll(v); /* 2^k <= v < 2^(k+1) */
	unsigned b = 8u + (k - LAT_FIRST_OCTAVE) * 8u + (unsigned)((v >> (k - 3)) & 7u);
	return b < LAT_BUCKETS ? b : LAT_BUCKETS - 1;
}

/* The middle of bucket b. */
static uint64_t lat_bucket_mid(unsigned b)
{
	if (b < 8)
		return (uint64_t)b * 8 + 4;
	unsigned k = LAT_FIRST_OCTAVE + (b - 8) / 8, sub = (b - 8) % 8;
	uint64_t lo = (uint64_t)(8 + sub) << (k - 3), width = (uint64_t)1 << (k - 3);
	return lo + width / 2;
}

/*
 * Count a fault of kind k that took ns nanoseconds in stripe st (the
 * stripe's lock held); *kinds is the stripe's mask of kinds counted.
 * Touches only the kind's own histogram.
 */
void lat_add(struct lat_stripe *st, uint16_t *kinds, unsigned k, uint64_t ns)
{
	struct lat_kind *h = &st->kind[k];

	if (h->count == 0 || ns < h->min_ns)
		h->min_ns = ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
	h->count++;
	h->sum_ns += ns;
	h->bucket[lat_bucket(ns)]++;
	*kinds |= (uint16_t)(1u << k);
}

/* Add histogram k to the sum acc (which starts zeroed). */
void lat_merge(struct lat_sum *acc, const struct lat_kind *k)
{
	if (k->count == 0)
		return;
	if (acc->count == 0 || k->min_ns < acc->min_ns)
		acc->min_ns = k->min_ns;
	if (k->max_ns > acc->max_ns)
		acc->max_ns = k->max_ns;
	acc->count += k->count;
	acc->sum_ns += k->sum_ns;
	for (unsigned b = 0; b < LAT_BUCKETS; b++)
		acc->bucket[b] += k->bucket[b];
}

/* The value below which a fraction num/den of the faults of acc lie (the
 * one of rank ceil(count * num / den)), clamped to the exact extremes. */
static uint64_t lat_percentile(const struct lat_sum *acc, uint64_t num, uint64_t den)
{
	uint64_t rank = (acc->count * num + den - 1) / den, seen = 0, v = acc->max_ns;

	if (rank == 0)
		rank = 1;
	for (unsigned b = 0; b < LAT_BUCKETS; b++) {
		seen += acc->bucket[b];
		if (seen >= rank) {
			v = lat_bucket_mid(b);
			break;
		}
	}
	if (v < acc->min_ns)
		v = acc->min_ns;
	if (v > acc->max_ns)
		v = acc->max_ns;
	return v;
}

/* The summary of acc as dpemu.h's struct dpemu_latency (all 0 if empty). */
void lat_summary(const struct lat_sum *acc, struct dpemu_latency *out)
{
	memset(out, 0, sizeof *out);
	if (acc->count == 0)
		return;
	out->count = acc->count;
	out->min_ns = acc->min_ns;
	out->max_ns = acc->max_ns;
	out->mean_ns = acc->sum_ns / acc->count;
	out->p50_ns = lat_percentile(acc, 50, 100);
	out->p90_ns = lat_percentile(acc, 90, 100);
	out->p99_ns = lat_percentile(acc, 99, 100);
	out->p999_ns = lat_percentile(acc, 999, 1000);
}
