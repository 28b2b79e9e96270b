/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * replay.c - `dpemu replay`: a reference string run through replacement
 * policies (issue 16).  The options and their checks, the per-access
 * table (OSTEP paging-policy.py -c's access, hit/miss, memory, victim),
 * the totals, the JSON, the curve's table, and the report of --live.
 * Calls replay_input.c, replay_sim.c, replay_curve.c, replay_live.c,
 * options.c, <dpemu.h> (through them and cli_check_env), stdio, getopt.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "options.h"
#include "replay.h"
#include "../policy_plugin.h"

#define ME "dpemu replay"
#define MAX_FRAMES 4294967294ull  /* the library's most frames */
#define MAX_CURVE 1048576ull      /* the largest --curve size */

static const char replay_usage[] =
	"Usage: dpemu replay --policy P[,P...] --frames N [OPTIONS] [FILE|-]\n"
	"       dpemu replay --policy P[,P...] --curve FROM-TO [--svg FILE] [OPTIONS] [FILE|-]\n"
	"       dpemu replay --policy-lib FILE.so [--policy P,...] --frames N [OPTIONS] [FILE|-]\n"
	"\n"
	"Run a reference string through page-replacement policies: each access a hit\n"
	"or a miss, the memory after it and the page it evicted, then the totals.\n"
	"\n"
	"Input (FILE, or standard input for - or none), detected from its contents:\n"
	"  page numbers separated by commas, blanks or newlines ('#' starts a comment);\n"
	"  a valgrind lackey log (valgrind --tool=lackey --trace-mem=yes), each access\n"
	"  the page(s) it touches (--page-size), S and M writes;\n"
	"  a dpemu trace file: its fault events, each the page of its address.\n"
	"\n"
	"Policies: fifo, lru (exact), opt (Belady's MIN), clock (second chance),\n"
	"aging (the library's LRU: 8-bit ages), random (the library's generator,\n"
	"--seed); several, comma-separated, run side by side; and a policy of your\n"
	"own, written in C (dpemu_policy(7), \"Writing a policy\"), with --policy-lib.\n"
	"\n"
	"Options:\n"
	"  -p, --policy P[,P...]  the policies (required, unless --policy-lib)\n"
	"  -L, --policy-lib FILE.so  also a custom policy: the shared object's\n"
	"                         dpemu_policy_plugin (a struct dpemu_policy_ops)\n"
	"  -f, --frames N         memory of N frames (1 to 4294967294)\n"
	"  -s, --seed S           random's seed (0, the default: the library's own)\n"
	"  -P, --page-size BYTES  page size for lackey logs (default 4096) and traces\n"
	"                         (default: the trace's), a power of two\n"
	"  -N, --no-table         no per-access table: the totals only\n"
	"  -j, --json             the totals as JSON: one object, an array for several\n"
	"                         policies\n"
	"  -c, --curve FROM-TO    misses for every memory from FROM to TO frames, per\n"
	"                         policy (exact LRU in one pass: stack distances), and\n"
	"                         where more frames give more misses (Belady's anomaly)\n"
	"  -g, --svg FILE         with --curve: the curves as an SVG picture\n"
	"  -l, --live             replay the string through the library too (fifo,\n"
	"                         clock, aging as the library's LRU, random with the\n"
	"                         seed, a --policy-lib policy) and compare: exit 1 if\n"
	"                         they differ\n"
	"  -b, --backend NAME     with --live: sigsegv, uffd or uffd-sigbus (default:\n"
	"                         DPEMU_BACKEND_AUTO)\n"
	"  -h, --help             show this help and exit\n"
	"\n"
	"Exit status: 0 success, 1 unreadable or malformed input, a library failure or\n"
	"a --live disagreement, 2 a usage error.  See dpemu(1).\n";

struct opts {
	enum rp_policy policy[RP_NPOLICIES];
	size_t npolicies;
	uint64_t frames, seed, page_size, from, to;
	int have_frames, have_seed, no_table, json, curve, live;
	const char *svg, *file, *policy_lib;
	enum dpemu_backend backend;
	enum dpemu_uffd_mode uffd_mode;
	int have_backend;
};

/* ---- options ------------------------------------------------------------------------ */

/* "dpemu replay: MSG; try ..." on stderr: 2. */
static int usage(const char *msg)
{
	fprintf(stderr, "%s: %s; try 'dpemu replay --help'\n", ME, msg);
	return 2;
}

/* The same, MSG a format with one string. */
static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", ME);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "; try 'dpemu replay --help'\n");
	return 2;
}

/* --policy's list.  -1, or 2 after the message. */
static int parse_policies(struct opts *o, const char *arg)
{
	char buf[256];
	char *save = NULL;

	if (strlen(arg) >= sizeof buf)
		return usage_error("bad --policy '%s': too long", arg);
	strcpy(buf, arg);
	o->npolicies = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int p = rp_policy_parse(tok);
		if (p < 0) {
			fprintf(stderr, "%s: unknown policy '%s' (accepted: fifo, lru, opt, clock, "
			        "aging, random)\n", ME, tok);
			return 2;
		}
		for (size_t i = 0; i < o->npolicies; i++)
			if (o->policy[i] == (enum rp_policy)p)
				return usage_error("policy '%s' named twice", tok);
		o->policy[o->npolicies++] = (enum rp_policy)p;
	}
	if (o->npolicies == 0)
		return usage_error("bad --policy '%s': no policy", arg);
	return -1;
}

/* --curve FROM-TO.  -1, or 2 after the message. */
static int parse_curve(struct opts *o, const char *arg)
{
	const char *dash = strchr(arg, '-');
	char from[32];

	if (!dash || dash == arg || (size_t)(dash - arg) >= sizeof from)
		return usage_error("bad --curve '%s': not FROM-TO (for example 1-8)", arg);
	memcpy(from, arg, (size_t)(dash - arg));
	from[dash - arg] = '\0';
	if (cli_parse_u64(ME, "--curve FROM", from, 1, MAX_CURVE, &o->from) != 0 ||
	    cli_parse_u64(ME, "--curve TO", dash + 1, o->from, MAX_CURVE, &o->to) != 0)
		return 2;
	o->curve = 1;
	return -1;
}

static int parse_backend(struct opts *o, const char *arg)
{
	if (strcmp(arg, "sigsegv") == 0) {
		o->backend = DPEMU_BACKEND_SIGSEGV;
	} else if (strcmp(arg, "uffd") == 0) {
		o->backend = DPEMU_BACKEND_UFFD;
		o->uffd_mode = DPEMU_UFFD_THREAD;
	} else if (strcmp(arg, "uffd-sigbus") == 0) {
		o->backend = DPEMU_BACKEND_UFFD;
		o->uffd_mode = DPEMU_UFFD_SIGBUS;
	} else {
		fprintf(stderr, "%s: bad --backend '%s' (accepted: sigsegv, uffd, uffd-sigbus)\n",
		        ME, arg);
		return 2;
	}
	o->have_backend = 1;
	return -1;
}

/* --policy-lib: load the custom policy, and add it to the policies
 * (after --policy's).  -1, or 2 after the message. */
static int load_policy_lib(struct opts *o)
{
	char err[512];
	const struct dpemu_policy_ops *ops = policy_plugin_load(o->policy_lib, err, sizeof err);

	if (!ops) {
		fprintf(stderr, "%s: --policy-lib: %s\n", ME, err);
		return 2;
	}
	rp_policy_set_custom(ops);
	o->policy[o->npolicies++] = RP_CUSTOM;
	return -1;
}

/* One option c (getopt_long's) with its argument.  -1 to go on, or the
 * exit status: 0 after --help, 2 after a message. */
static int parse_option(struct opts *o, int c, const char *arg, const char *opt)
{
	switch (c) {
	case 'p': return parse_policies(o, arg);
	case 'f':
		o->have_frames = 1;
		return cli_parse_u64(ME, "--frames", arg, 1, MAX_FRAMES, &o->frames) ? 2 : -1;
	case 's':
		o->have_seed = 1;
		return cli_parse_u64(ME, "--seed", arg, 0, UINT64_MAX, &o->seed) ? 2 : -1;
	case 'P':
		if (cli_parse_u64(ME, "--page-size", arg, 1, 1ull << 30, &o->page_size) != 0)
			return 2;
		if (o->page_size & (o->page_size - 1))
			return usage_error("bad --page-size '%s': not a power of two", arg);
		return -1;
	case 'N': o->no_table = 1; return -1;
	case 'j': o->json = 1; return -1;
	case 'c': return parse_curve(o, arg);
	case 'g': o->svg = arg; return -1;
	case 'l': o->live = 1; return -1;
	case 'L': o->policy_lib = arg; return -1;
	case 'b': return parse_backend(o, arg);
	case 'h': fputs(replay_usage, stdout); return 0;
	case ':': return usage_error("option '%s' needs a value", opt);
	default:  return usage_error("unknown option '%s'", opt);
	}
}

/* What the options must satisfy together.  -1, or 2 after a message. */
static int check_options(const struct opts *o)
{
	int random = 0;

	for (size_t i = 0; i < o->npolicies; i++)
		random |= o->policy[i] == RP_RANDOM;
	if (o->npolicies == 0)
		return usage("--policy (or --policy-lib) is required");
	if (!o->curve && !o->have_frames)
		return usage("--frames (or --curve) is required");
	if (o->curve && o->have_frames)
		return usage("--frames and --curve exclude each other");
	if (o->svg && !o->curve)
		return usage("--svg needs --curve");
	if (o->svg && cli_check_output(ME, "--svg", o->svg) != 0)
		return 2;
	if (o->have_seed && !random)
		return usage("--seed is for the random policy");
	if (o->have_backend && !o->live)
		return usage("--backend needs --live");
	if (o->live && o->curve)
		return usage("--live and --curve exclude each other");
	for (size_t i = 0; o->live && i < o->npolicies; i++)
		if (rp_policy_live(o->policy[i]) == DPEMU_POLICY_NONE) {
			fprintf(stderr, "%s: --live: the library has no %s policy (its LRU is aging; "
			        "it replays fifo, clock, aging and random)\n", ME,
			        o->policy[i] == RP_LRU ? "exact lru" : rp_policy_name(o->policy[i]));
			return 2;
		}
	return -1;
}

/* Every option and argument.  -1 to go on, or the exit status. */
static int parse_options(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "frames", required_argument, NULL, 'f' },
		{ "seed", required_argument, NULL, 's' },
		{ "page-size", required_argument, NULL, 'P' },
		{ "no-table", no_argument, NULL, 'N' },
		{ "json", no_argument, NULL, 'j' },
		{ "curve", required_argument, NULL, 'c' },
		{ "svg", required_argument, NULL, 'g' },
		{ "live", no_argument, NULL, 'l' },
		{ "policy-lib", required_argument, NULL, 'L' },
		{ "backend", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;

	memset(o, 0, sizeof *o);
	o->file = "-";
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:f:s:P:Njc:g:lb:L:h", longopts, NULL)) != -1) {
		char opt[3] = { '-', (char)optopt, '\0' };
		const char *name = c == '?' && optopt ? opt : argv[optind - 1];
		if ((rc = parse_option(o, c, optarg, name)) >= 0)
			return rc;
	}
	if (optind < argc)
		o->file = argv[optind++];
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (o->policy_lib && (rc = load_policy_lib(o)) >= 0)
		return rc;
	return check_options(o);
}

/* Why a simulation could not be set up. */
static const char *no_sim_why(const struct opts *o)
{
	return o->policy_lib ? "out of memory, or the custom policy's init failed" : "out of memory";
}

/* ---- the per-access table ------------------------------------------------------- */

struct table {
	const struct opts *o;
	const struct rp_string *s;
	struct rp_sim *sim[RP_NPOLICIES];
	uint64_t hits[RP_NPOLICIES], evictions[RP_NPOLICIES];
	struct rp_resident *mem;
	char *line;
	int accessw, pagew, memw[RP_NPOLICIES]; /* column widths */
	size_t entries, linecap;
};

/* Characters a memory entry adds to its label: clock "*", aging ":hh*",
 * custom "*+". */
static int entry_extra(enum rp_policy p)
{
	return p == RP_CLOCK ? 1 : p == RP_AGING ? 4 : p == RP_CUSTOM ? 2 : 0;
}

/* Policy i's memory after the current reference, as "[a b c]", into t->line. */
static const char *memory_text(struct table *t, size_t i)
{
	size_t n = rp_sim_memory(t->sim[i], t->mem), pos = 0;
	enum rp_policy p = t->o->policy[i];
	char label[48];

	t->line[pos++] = '[';
	for (size_t k = 0; k < n; k++) {
		pos += (size_t)snprintf(t->line + pos, t->linecap - pos, "%s%s", k ? " " : "",
		                        rp_label(t->s, t->mem[k].page, label, sizeof label));
		if (p == RP_AGING)
			pos += (size_t)snprintf(t->line + pos, t->linecap - pos, ":%02x", t->mem[k].age);
		if ((p == RP_CLOCK || p == RP_AGING || p == RP_CUSTOM) && t->mem[k].referenced)
			t->line[pos++] = '*';
		if (p == RP_CUSTOM && t->mem[k].dirty)
			t->line[pos++] = '+';
	}
	t->line[pos++] = ']';
	t->line[pos] = '\0';
	return t->line;
}

/* Whether the per-access table is printed. */
static int table_printed(const struct opts *o)
{
	return !o->no_table && !o->json;
}

/* The simulators and, if the table is printed, its widths and buffers.
 * 0, or -1 (out of memory). */
static int table_init(struct table *t, const struct opts *o, const struct rp_string *s)
{
	char label[48];

	memset(t, 0, sizeof *t);
	t->o = o;
	t->s = s;
	t->pagew = 1;
	for (uint32_t p = 0; p < s->npages; p++) {
		int w = (int)strlen(rp_label(s, p, label, sizeof label));
		if (w > t->pagew)
			t->pagew = w;
	}
	t->accessw = t->pagew > 6 ? t->pagew : 6; /* "access" */
	t->entries = o->frames < s->npages ? o->frames : s->npages;
	for (size_t i = 0; i < o->npolicies; i++)
		if (!(t->sim[i] = rp_sim_new(o->policy[i], o->frames, o->seed, s)))
			return -1;
	if (!table_printed(o))
		return 0;
	t->mem = malloc(t->entries * sizeof *t->mem);
	t->linecap = t->entries * (size_t)(t->pagew + 6) + 8;
	t->line = malloc(t->linecap);
	if (!t->mem || !t->line)
		return -1;
	for (size_t i = 0; i < o->npolicies; i++)
		t->memw[i] = (int)(t->entries * (size_t)(t->pagew + entry_extra(o->policy[i]) + 1)) + 1;
	return 0;
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->o->npolicies; i++)
		rp_sim_free(t->sim[i]);
	free(t->mem);
	free(t->line);
}

/* What each policy's memory column lists, then the header row. */
static void table_header(const struct table *t)
{
	const struct opts *o = t->o;

	for (size_t i = 0; i < o->npolicies; i++) {
		printf("%s: %" PRIu64 " frame%s", rp_policy_name(o->policy[i]), o->frames,
		       o->frames == 1 ? "" : "s");
		if (o->policy[i] == RP_RANDOM)
			printf(", seed %" PRIu64, o->seed);
		printf("; memory %s\n", rp_policy_order(o->policy[i]));
	}
	printf("\n%*s", t->accessw, "access");
	for (size_t i = 0; i < o->npolicies; i++) {
		int w = 4 + 2 + t->pagew + 2 + t->memw[i];
		if (i + 1 < o->npolicies)
			printf("  %-*s", w, rp_policy_name(o->policy[i]));
		else
			printf("  %s", rp_policy_name(o->policy[i]));
	}
	printf("\n");
}

/* Run every policy over the string, printing a line per reference unless
 * -N or --json. */
static void table_run(struct table *t)
{
	const struct opts *o = t->o;
	int print = table_printed(o);
	char label[48];
	uint32_t victim;

	if (print)
		table_header(t);
	for (size_t r = 0; r < t->s->n; r++) {
		if (print)
			printf("%*s", t->accessw, rp_label(t->s, t->s->page[r], label, sizeof label));
		for (size_t i = 0; i < o->npolicies; i++) {
			int hit = rp_sim_step(t->sim[i], r, &victim);
			t->hits[i] += (uint64_t)hit;
			t->evictions[i] += victim != RP_NONE;
			if (!print)
				continue;
			printf("  %-4s  %*s  ", hit ? "hit" : "miss", t->pagew,
			       victim == RP_NONE ? "-" : rp_label(t->s, victim, label, sizeof label));
			if (i + 1 < o->npolicies)
				printf("%-*s", t->memw[i], memory_text(t, i));
			else
				printf("%s", memory_text(t, i));
		}
		if (print)
			printf("\n");
	}
	if (print)
		printf("\n");
}

/* ---- totals ----------------------------------------------------------------------------- */

static int digits(uint64_t v)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

static int wider(int w, uint64_t v)
{
	return digits(v) > w ? digits(v) : w;
}

static double hit_rate(uint64_t hits, uint64_t refs)
{
	return refs ? (double)hits / (double)refs : 0.0;
}

static void totals_text(const struct table *t)
{
	const struct opts *o = t->o;
	uint64_t n = t->s->n;
	int pw = 6, fw = wider(6, o->frames), rw = wider(10, n), hw = 4, mw = 6, ew = 9;

	for (size_t i = 0; i < o->npolicies; i++) {
		int len = (int)strlen(rp_policy_name(o->policy[i]));
		pw = len > pw ? len : pw; /* (a custom policy's name may be long) */
		hw = wider(hw, t->hits[i]);
		mw = wider(mw, n - t->hits[i]);
	}
	printf("%-*s  %*s  %*s  %*s  %*s  %8s  %*s\n", pw, "policy", fw, "frames", rw,
	       "references", hw, "hits", mw, "misses", "hit rate", ew, "evictions");
	for (size_t i = 0; i < o->npolicies; i++)
		printf("%-*s  %*" PRIu64 "  %*" PRIu64 "  %*" PRIu64 "  %*" PRIu64 "  %7.2f%%  %*"
		       PRIu64 "\n", pw, rp_policy_name(o->policy[i]), fw, o->frames, rw, n, hw,
		       t->hits[i], mw, n - t->hits[i], 100.0 * hit_rate(t->hits[i], n), ew,
		       t->evictions[i]);
}

/* A JSON string (what the live comparison says: plain text). */
static void json_string(const char *text)
{
	putchar('"');
	for (const char *c = text; *c; c++) {
		if (*c == '"' || *c == '\\')
			printf("\\%c", *c);
		else if ((unsigned char)*c < 0x20)
			printf("\\u%04x", (unsigned char)*c);
		else
			putchar(*c);
	}
	putchar('"');
}

static void json_live(const struct rp_live *l)
{
	printf(",\"live\":{\"backend\":\"%s\",\"misses\":%" PRIu64 ",\"zero_fills\":%" PRIu64
	       ",\"swap_ins\":%" PRIu64 ",\"evictions\":%" PRIu64 ",\"swap_outs\":%" PRIu64
	       ",\"reference_faults\":%" PRIu64 ",\"faults\":%" PRIu64 ",\"retries\":%" PRIu64
	       ",\"agree\":%s", l->backend, l->misses, l->zero_fills, l->swap_ins, l->evictions,
	       l->swap_outs, l->reference_faults, l->faults, l->retries,
	       l->first_diff == SIZE_MAX ? "true" : "false");
	if (l->first_diff != SIZE_MAX) {
		printf(",\"first_difference\":{\"reference\":%zu,\"what\":", l->first_diff + 1);
		json_string(l->diff);
		printf("}");
	}
	printf("}");
}

/* Policy i's JSON object (live: its --live result, or NULL). */
static void json_totals(const struct table *t, size_t i, const struct rp_live *live)
{
	uint64_t n = t->s->n;

	printf("{\"policy\":\"%s\",\"frames\":%" PRIu64 ",\"references\":%" PRIu64
	       ",\"pages\":%zu,\"hits\":%" PRIu64 ",\"misses\":%" PRIu64 ",\"hit_rate\":%.4f"
	       ",\"evictions\":%" PRIu64, rp_policy_name(t->o->policy[i]), t->o->frames, n,
	       t->s->npages, t->hits[i], n - t->hits[i], hit_rate(t->hits[i], n),
	       t->evictions[i]);
	if (t->o->policy[i] == RP_RANDOM)
		printf(",\"seed\":%" PRIu64, t->o->seed);
	if (live)
		json_live(live);
	printf("}");
}

/* --live's line for policy p. */
static void live_text(enum rp_policy p, const struct rp_live *l)
{
	printf("live %s (%s): %" PRIu64 " misses (%" PRIu64 " zero-fills, %" PRIu64
	       " swap-ins), %" PRIu64 " evictions, %" PRIu64 " reference faults", rp_policy_name(p),
	       l->backend, l->misses, l->zero_fills, l->swap_ins, l->evictions,
	       l->reference_faults);
	if (l->retries)
		printf(", %" PRIu64 " accesses retried after the livelock guard", l->retries);
	printf("; simulated %" PRIu64 " misses, %" PRIu64 " evictions: ", l->sim_misses,
	       l->sim_evictions);
	if (l->first_diff == SIZE_MAX)
		printf("agree\n");
	else
		printf("DIFFER at reference %zu: %s\n", l->first_diff + 1, l->diff);
}

/* The simulation, its table, its totals and --live.  The exit status. */
static int replay(const struct opts *o, const struct rp_string *s)
{
	struct rp_live live[RP_NPOLICIES];
	struct table t;
	int status = 0;

	if (table_init(&t, o, s) != 0) {
		fprintf(stderr, "%s: %s\n", ME, no_sim_why(o));
		table_free(&t);
		return 1;
	}
	table_run(&t);
	for (size_t i = 0; o->live && i < o->npolicies; i++) {
		fflush(stdout);
		if (rp_live_run(o->policy[i], o->frames, o->seed, o->backend, o->uffd_mode, s,
		                &live[i]) != 0) {
			table_free(&t);
			return 1;
		}
		if (live[i].first_diff != SIZE_MAX)
			status = 1;
	}
	if (o->json) {
		printf(o->npolicies > 1 ? "[\n" : "");
		for (size_t i = 0; i < o->npolicies; i++) {
			printf(o->npolicies > 1 ? "  " : "");
			json_totals(&t, i, o->live ? &live[i] : NULL);
			printf(i + 1 < o->npolicies ? ",\n" : "\n");
		}
		printf(o->npolicies > 1 ? "]\n" : "");
	} else {
		totals_text(&t);
		if (o->live)
			printf("\n");
		for (size_t i = 0; o->live && i < o->npolicies; i++)
			live_text(o->policy[i], &live[i]);
	}
	table_free(&t);
	return status;
}

/* ---- --curve ----------------------------------------------------------------------------- */

/* Whether curve c has more misses with k + 1 frames than with k. */
static int anomaly(const struct opts *o, const struct rp_curve *c, uint64_t k)
{
	return k < o->to && c->misses[k + 1 - o->from] > c->misses[k - o->from];
}

static void curve_text(const struct opts *o, const struct rp_curve *curves)
{
	int w[RP_NPOLICIES];

	printf("%6s", "frames");
	for (size_t i = 0; i < o->npolicies; i++) {
		w[i] = (int)strlen(rp_policy_name(curves[i].policy));
		for (uint64_t k = o->from; k <= o->to; k++)
			w[i] = wider(w[i], curves[i].misses[k - o->from]);
		printf("  %*s", w[i], rp_policy_name(curves[i].policy));
	}
	printf("   (misses)\n");
	for (uint64_t k = o->from; k <= o->to; k++) {
		printf("%6" PRIu64, k);
		for (size_t i = 0; i < o->npolicies; i++)
			printf("  %*" PRIu64, w[i], curves[i].misses[k - o->from]);
		printf("\n");
	}
	for (size_t i = 0; i < o->npolicies; i++)
		for (uint64_t k = o->from; k <= o->to; k++)
			if (anomaly(o, &curves[i], k))
				printf("Belady's anomaly: %s misses more with %" PRIu64 " frames (%" PRIu64
				       ") than with %" PRIu64 " (%" PRIu64 ")\n",
				       rp_policy_name(curves[i].policy), k + 1,
				       curves[i].misses[k + 1 - o->from], k, curves[i].misses[k - o->from]);
}

static void curve_json(const struct opts *o, const struct rp_string *s,
                       const struct rp_curve *c)
{
	const char *sep = "";

	printf("{\"policy\":\"%s\",\"references\":%zu,\"pages\":%zu,\"from\":%" PRIu64
	       ",\"to\":%" PRIu64, rp_policy_name(c->policy), s->n, s->npages, o->from, o->to);
	if (c->policy == RP_RANDOM)
		printf(",\"seed\":%" PRIu64, o->seed);
	printf(",\"curve\":[");
	for (uint64_t k = o->from; k <= o->to; k++)
		printf("%s{\"frames\":%" PRIu64 ",\"misses\":%" PRIu64 "}", k == o->from ? "" : ",",
		       k, c->misses[k - o->from]);
	printf("],\"anomalies\":[");
	for (uint64_t k = o->from; k <= o->to; k++)
		if (anomaly(o, c, k)) {
			printf("%s{\"frames\":%" PRIu64 ",\"misses\":%" PRIu64 ",\"fewer_frames\":%"
			       PRIu64 ",\"fewer_misses\":%" PRIu64 "}", sep, k + 1,
			       c->misses[k + 1 - o->from], k, c->misses[k - o->from]);
			sep = ",";
		}
	printf("]}");
}

/* The curves, as a table or JSON, and --svg.  The exit status. */
static int curve(const struct opts *o, const struct rp_string *s)
{
	struct rp_curve curves[RP_NPOLICIES];
	int status = 0;

	memset(curves, 0, sizeof curves);
	for (size_t i = 0; i < o->npolicies; i++)
		curves[i].policy = o->policy[i];
	if (rp_curves(s, o->from, o->to, o->seed, curves, o->npolicies) != 0) {
		fprintf(stderr, "%s: %s\n", ME, no_sim_why(o));
		status = 1;
	} else if (o->json) {
		printf(o->npolicies > 1 ? "[\n" : "");
		for (size_t i = 0; i < o->npolicies; i++) {
			printf(o->npolicies > 1 ? "  " : "");
			curve_json(o, s, &curves[i]);
			printf(i + 1 < o->npolicies ? ",\n" : "\n");
		}
		printf(o->npolicies > 1 ? "]\n" : "");
	} else {
		curve_text(o, curves);
	}
	if (status == 0 && o->svg) {
		FILE *f = fopen(o->svg, "w");
		int bad = !f || rp_curve_svg(f, s, o->from, o->to, curves, o->npolicies) != 0;
		if ((f && fclose(f) != 0) || bad) {
			fprintf(stderr, "%s: cannot write %s: %s\n", ME, o->svg, strerror(errno));
			status = 1;
		}
	}
	for (size_t i = 0; i < o->npolicies; i++)
		free(curves[i].misses);
	return status;
}

int cmd_replay(int argc, char **argv)
{
	struct rp_string s;
	struct opts o;
	int rc;

	if ((rc = parse_options(&o, argc, argv)) >= 0)
		return rc;
	if (cli_check_env(ME) != 0)
		return 2;
	if (rp_read(o.file, o.page_size, &s) != 0)
		return 1;
	rc = o.curve ? curve(&o, &s) : replay(&o, &s);
	rp_string_free(&s);
	return rc;
}
