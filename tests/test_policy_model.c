/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_policy_model.c - every replacement policy (FIFO, CLOCK, LRU,
 * RANDOM) against a reference model (issue 6): random writes, reads,
 * forks, destroys, protection changes, prefaults, syncs and remappings on
 * two fork families of spaces under pressure, with and without
 * fault-around, each read checked against the model's bytes and each
 * shared file against the model at the end.  Where single evictions go
 * is in test_swap.c.
 */
#include "swap_env.h"

/* ---- a model: random operations on fork families under pressure ---------------------------- */

/*
 * Two fork families share a pool of MD_FRAMES frames: up to MD_SPACES
 * spaces, each forked from one of two roots, each with four mappings of
 * MD_PAGES pages at the same offsets of its arena (so the two families'
 * pages share page indexes): private anonymous, shared anonymous, shared
 * file, private file.  Random writes, reads, forks, destroys, protection
 * changes, prefaults, syncs and remappings check every read against a
 * model: the shared mappings have one copy per family (each family its
 * own files), the private ones one per space, copied at fork.  At the end
 * each family's shared file holds the model's bytes.
 */
#define MD_SPACES 6
#define MD_FAMILIES 2
#define MD_PAGES 6
#define MD_FRAMES 5
#define MD_KINDS 4
#define MD_SPOTS 3 /* bytes checked per page: first, middle, last */

struct md_space {
	dpemu_space *s;
	int fam;
	unsigned char priv[2][MD_PAGES][MD_SPOTS]; /* private anon, private file */
};

struct md_family {
	unsigned char shared[2][MD_PAGES][MD_SPOTS]; /* shared anon, shared file */
	int fd_shared, fd_private;
	char path_shared[64], path_private[64];
};

struct model {
	dpemu_pool *pool;
	struct md_space sp[MD_SPACES];
	struct md_family fam[MD_FAMILIES];
	int nlive;
	uint64_t rng;
};

static uint64_t md_rand(struct model *m, uint64_t n)
{
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	return m->rng % n;
}

static size_t md_off(int spot)
{
	return spot == 0 ? 0 : spot == 1 ? ps / 2 : ps - 1;
}

/* Where byte `spot` of page pg of mapping kind k is in space i. */
static unsigned char *md_addr(struct model *m, int i, int k, int pg, int spot)
{
	return (unsigned char *)dpemu_space_base(m->sp[i].s) +
	       ((size_t)k * MD_PAGES + (size_t)pg) * ps + md_off(spot);
}

static unsigned char *md_cell(struct model *m, int i, int k, int pg, int spot)
{
	struct md_family *f = &m->fam[m->sp[i].fam];

	switch (k) {
	case 0: return &m->sp[i].priv[0][pg][spot];
	case 1: return &f->shared[0][pg][spot];
	case 2: return &f->shared[1][pg][spot];
	default: return &m->sp[i].priv[1][pg][spot];
	}
}

static int md_live(struct model *m)
{
	int i;

	do
		i = (int)md_rand(m, MD_SPACES);
	while (!m->sp[i].s);
	return i;
}

static const int md_flags[MD_KINDS] = { ANON_PRIVATE, ANON_SHARED, DPEMU_MAP_SHARED,
                                        DPEMU_MAP_PRIVATE };

/* Family f's root, in slot i. */
static void md_root(struct model *m, int i, int f, size_t fault_around)
{
	struct md_family *fam = &m->fam[f];
	struct dpemu_space_config scfg = tu_space_config(MD_KINDS * MD_PAGES * ps);
	void *p;

	fam->fd_shared = file_make(MD_PAGES, fam->path_shared);
	fam->fd_private = file_make(MD_PAGES, fam->path_private);
	scfg.fault_around = fault_around;
	assert_int_equal(dpemu_space_create(m->pool, &scfg, &m->sp[i].s), 0);
	m->sp[i].fam = f;
	m->nlive++;
	for (int pg = 0; pg < MD_PAGES; pg++)
		for (int spot = 0; spot < MD_SPOTS; spot++) {
			fam->shared[1][pg][spot] = (unsigned char)('A' + pg);
			m->sp[i].priv[1][pg][spot] = (unsigned char)('A' + pg);
		}
	for (int k = 0; k < MD_KINDS; k++) {
		int fd = k == 2 ? fam->fd_shared : k == 3 ? fam->fd_private : -1;
		void *want = (unsigned char *)dpemu_space_base(m->sp[i].s) + (size_t)k * MD_PAGES * ps;
		assert_int_equal(dpemu_map(m->sp[i].s, want, MD_PAGES * ps, RW,
		                           md_flags[k] | DPEMU_MAP_FIXED, fd, 0, &p), 0);
	}
}

static void md_run(enum dpemu_policy policy, uint64_t seed, int ops, size_t fault_around)
{
	struct model *m = calloc(1, sizeof *m);
	struct dpemu_pool_config cfg = tu_pool_config(MD_FRAMES, 0);
	void *p;

	assert_non_null(m);
	m->rng = seed;
	cfg.policy = policy;
	cfg.seed = seed;
	cfg.swap_slots = 256;
	assert_int_equal(dpemu_pool_create(&cfg, &m->pool), 0);
	for (int f = 0; f < MD_FAMILIES; f++)
		md_root(m, f, f, fault_around);

	for (int op = 0; op < ops; op++) {
		uint64_t what = md_rand(m, 100);
		int i = md_live(m);
		int k = (int)md_rand(m, MD_KINDS), pg = (int)md_rand(m, MD_PAGES);
		int spot = (int)md_rand(m, MD_SPOTS);
		if (what < 45) {
			unsigned char v = (unsigned char)md_rand(m, 256);
			wr(md_addr(m, i, k, pg, spot), v);
			*md_cell(m, i, k, pg, spot) = v;
		} else if (what < 84) {
			unsigned char got = rd(md_addr(m, i, k, pg, spot));
			if (got != *md_cell(m, i, k, pg, spot))
				fail_msg("%s seed %llu op %d: space %d kind %d page %d spot %d: "
				         "read %#x, expected %#x", dpemu_policy_name(policy),
				         (unsigned long long)seed, op, i, k, pg, spot, got,
				         *md_cell(m, i, k, pg, spot));
		} else if (what < 86) {
			/* read-only for a moment */
			unsigned char *a = md_addr(m, i, k, pg, 0);
			assert_int_equal(dpemu_protect(m->sp[i].s, a, ps, PROT_READ), 0);
			assert_int_equal(rd(a + md_off(spot)), *md_cell(m, i, k, pg, spot));
			assert_int_equal(dpemu_protect(m->sp[i].s, a, ps, RW), 0);
		} else if (what < 88) {
			assert_int_equal(dpemu_prefault(m->sp[i].s, md_addr(m, i, k, 0, 0),
			                                MD_PAGES * ps, spot ? PROT_READ : RW), 0);
		} else if (what < 90) {
			assert_int_equal(dpemu_sync(m->sp[i].s, md_addr(m, i, 2, 0, 0),
			                            MD_PAGES * ps), 0);
		} else if (what < 94 && (k == 0 || k == 3)) {
			/* a private page unmapped and mapped again: fresh */
			unsigned char *a = md_addr(m, i, k, pg, 0);
			int fd = k == 3 ? m->fam[m->sp[i].fam].fd_private : -1;
			assert_int_equal(dpemu_unmap(m->sp[i].s, a, ps), 0);
			assert_int_equal(dpemu_map(m->sp[i].s, a, ps, RW, md_flags[k] | DPEMU_MAP_FIXED,
			                           fd, k == 3 ? (off_t)(pg * ps) : 0, &p), 0);
			for (int t = 0; t < MD_SPOTS; t++)
				*md_cell(m, i, k, pg, t) = k == 3 ? (unsigned char)('A' + pg) : 0;
		} else if (what < 97 && m->nlive < MD_SPACES) {
			int c = 0;
			while (m->sp[c].s)
				c++;
			assert_int_equal(dpemu_space_fork(m->sp[i].s, &m->sp[c].s), 0);
			m->sp[c].fam = m->sp[i].fam;
			memcpy(m->sp[c].priv, m->sp[i].priv, sizeof m->sp[c].priv);
			m->nlive++;
		} else if (what >= 97 && m->nlive > 1) {
			assert_int_equal(dpemu_space_destroy(m->sp[i].s), 0);
			m->sp[i].s = NULL;
			m->nlive--;
		}
	}
	struct dpemu_pool_stats pst = pstats(m->pool);
	assert_true(pst.evictions > 0);
	assert_true(pst.swap_outs > 0);
	for (int i = 0; i < MD_SPACES; i++)
		if (m->sp[i].s)
			assert_int_equal(dpemu_space_destroy(m->sp[i].s), 0);
	teardown(m->pool, NULL, NULL);
	for (int f = 0; f < MD_FAMILIES; f++) {
		struct md_family *fam = &m->fam[f];
		for (int pg = 0; pg < MD_PAGES; pg++)
			for (int spot = 0; spot < MD_SPOTS; spot++) {
				off_t off = (off_t)(pg * ps + md_off(spot));
				assert_int_equal(file_byte(fam->fd_shared, off), fam->shared[1][pg][spot]);
				assert_int_equal(file_byte(fam->fd_private, off), 'A' + pg);
			}
		close(fam->fd_shared);
		close(fam->fd_private);
		unlink(fam->path_shared);
		unlink(fam->path_private);
	}
	free(m);
}

static void test_model_fifo(void **state) { (void)state; md_run(DPEMU_POLICY_FIFO, 1, 4000, 0); }
static void test_model_clock(void **state) { (void)state; md_run(DPEMU_POLICY_CLOCK, 2, 4000, 0); }
static void test_model_lru(void **state) { (void)state; md_run(DPEMU_POLICY_LRU, 3, 4000, 0); }
static void test_model_random(void **state) { (void)state; md_run(DPEMU_POLICY_RANDOM, 4, 4000, 0); }

/* The same with fault-around: windows of 4 pages, which cross the end of
 * the pool (5 frames here), over frames used before, next to pages whose
 * access a policy revoked or whose protection differs. */
static void test_model_fault_around(void **state)
{
	(void)state;
	for (int p = DPEMU_POLICY_FIFO; p <= DPEMU_POLICY_RANDOM; p++)
		for (uint64_t seed = 1; seed <= 8; seed++)
			md_run((enum dpemu_policy)p, seed * 7919 + 1, 2000, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_fifo),
		cmocka_unit_test(test_model_clock),
		cmocka_unit_test(test_model_lru),
		cmocka_unit_test(test_model_random),
		cmocka_unit_test(test_model_fault_around),
	};

	ps = tu_host_page();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
