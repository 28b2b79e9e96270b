/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * run_sigsegv.c - a program for tests/test-run.sh with a SIGSEGV handler
 * of its own, installed by sigaction and again by signal: it catches
 * faults outside dpemu's memory (a write to a string constant, a read of
 * address 0) and goes on, the heap still working.  Prints the same lines
 * natively and under dpemu run.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sigjmp_buf back;
static volatile sig_atomic_t caught;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	caught++;
	siglongjmp(back, 1);
}

static void on_segv_plain(int sig)
{
	(void)sig;
	caught++;
	siglongjmp(back, 1);
}

int main(void)
{
	static const char constant[] = "read-only";
	struct sigaction sa, old;
	char *heap = malloc(1 << 20);
	volatile char *volatile nowhere = NULL;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &old) != 0)
		return 1;
	printf("old action %s\n", old.sa_handler == SIG_DFL ? "SIG_DFL" : "not SIG_DFL");
	if (sigsetjmp(back, 1) == 0)
		*(volatile char *)constant = 'x';
	if (sigsetjmp(back, 1) == 0)
		(void)*nowhere;
	if (sigaction(SIGSEGV, NULL, &old) != 0 || old.sa_sigaction != on_segv)
		printf("sigaction does not give back the program's handler\n");
	if (signal(SIGSEGV, on_segv_plain) == SIG_ERR)
		return 1;
	if (sigsetjmp(back, 1) == 0)
		(void)*nowhere;
	memset(heap, 'h', 1 << 20);
	printf("caught %d faults, heap %s\n", (int)caught, heap[12345] == 'h' ? "works" : "BROKEN");
	free(heap);
	return 0;
}
