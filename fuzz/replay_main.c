/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * replay_main.c - run fuzz inputs without libFuzzer: the regression test
 * tests/fuzz_replay (make check) runs every file of fuzz/corpus through the
 * fuzzer's LLVMFuzzerTestOneInput (fuzz/fuzz_api.c), built with the normal
 * compiler against libdpemu.
 *
 *   fuzz_replay [FILE|DIR...]
 *
 * A directory means every regular file in it.  With no argument (as make
 * check runs it, through tests/each-backend): $top_srcdir/fuzz/corpus.  A mismatch aborts (the
 * harness prints what differed); otherwise prints how many inputs and
 * operations ran and exits 0.
 */
#define _GNU_SOURCE 1
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern unsigned long fuzz_sequences, fuzz_operations;

/* Run one file; 0, or -1 if it cannot be read. */
static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;

	if (!f) {
		perror(path);
		return -1;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			uint8_t *nb = realloc(buf, cap);
			if (!nb) {
				fclose(f);
				free(buf);
				return -1;
			}
			buf = nb;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	fclose(f);
	if (getenv("FUZZ_REPLAY_VERBOSE"))
		fprintf(stderr, "fuzz_replay: %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static int compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run every regular file in dir, in name order. */
static int run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (!d) {
		perror(dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **nn = realloc(names, cap * sizeof *nn);
			if (!nn)
				abort();
			names = nn;
		}
		size_t l = strlen(dir) + strlen(de->d_name) + 2;
		names[n] = malloc(l);
		if (!names[n])
			abort();
		snprintf(names[n], l, "%s/%s", dir, de->d_name);
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof *names, compare);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode) && run_file(names[i]) != 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = 0;
	char corpus[4096];
	char *deflt[] = { argv[0], corpus, NULL };

	if (argc < 2) {
		const char *top = getenv("top_srcdir");
		snprintf(corpus, sizeof corpus, "%s/fuzz/corpus", top ? top : ".");
		argc = 2;
		argv = deflt;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			rc = 1;
		} else if (S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i])) {
			rc = 1;
		}
	}
	printf("fuzz_replay: %lu inputs, %lu operations, no mismatch\n", fuzz_sequences,
	       fuzz_operations);
	return rc;
}
