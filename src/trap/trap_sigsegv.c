/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trap_sigsegv.c - the signal side of dpemu: catching SIGSEGV through GNU
 * libsigsegv (the SIGSEGV backend, and the reports of every backend),
 * SIGBUS for userfaultfd's SIGBUS mode, passing on signals that are not
 * dpemu's, reporting the faults dpemu cannot resolve, and dpemu_catch.
 *
 * Fault path: front_handler, sigbus_handler, on_sigsegv, chain_previous and
 * report run in signal context (trap_sigsegv_front on trap_uffd.c's handler
 * thread).  They may call: clock_gettime (the vDSO: a fault's latency
 * starts at the handler's entry), the registry (registry.c), fault_resolve
 * and fault_unrevoke (fault.c), uffd_resolve and uffd_unrevoke_mine
 * (trap_uffd.c), sigaction,
 * pthread_sigmask (the rt_sigprocmask system call), write(2), raise,
 * siglongjmp (via sigsegv_leave_handler) and the fmt_* formatters; never
 * malloc, stdio or strerror.  errno is saved on entry to the two handlers
 * and restored before they return.  Both handlers run with every
 * asynchronous signal blocked (fault_path_mask), so no handler of the
 * program interrupts a resolution; a handler of the program that touches
 * an arena while its thread is inside a dpemu call gets a HOST fault with
 * -EDEADLK (fault.c; trap_uffd.c's drain for the handler thread).
 *
 * The chain for a SIGSEGV:
 *
 *   kernel -> front_handler --(address outside every arena)--> the handler
 *             |                the program had before dpemu, with its own
 *             |                siginfo, or the default action
 *             +--(inside an arena)--> libsigsegv's handler -> on_sigsegv
 *                                     -> fault_resolve: resolved, or
 *                                        report: dpemu_catch, or a message
 *                                        and death as an uncaught fault
 *
 * libsigsegv discards the program's handler when it installs its own and,
 * when a handler declines a fault, resets SIGSEGV to SIG_DFL: so the front
 * handler keeps the program's handler itself.
 *
 * The previous handler is called as the kernel would call it
 * (chain_previous): with its own signal mask, once only if SA_RESETHAND,
 * not at all for a sent signal if it is SIG_IGN.  And the rule that keeps
 * the chain from becoming a cycle: every dpemu_space_create puts dpemu's
 * handler back in front, and the handler that had displaced it becomes the
 * previous one.  If that handler itself passes what is not its own to the
 * handler it displaced - dpemu's - a fault that is neither's would go
 * round for ever; so when dpemu's handler is entered from inside its own
 * call of the previous handler, for the same signal and fault
 * (chain_cycle), nobody handles it: the default action, as if the chain
 * had ended there.  The previous handler runs once.
 *
 * Layer: trap (src/internal.h).  Calls: trap_uffd.c (SIGBUS mode) and
 * registry.c of its own layer, fault.c, base.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sigsegv.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "internal.h"

/* Installing the handlers (lock order: internal.h). */
static pthread_mutex_t install_mutex = PTHREAD_MUTEX_INITIALIZER;
static bool installed, sigbus_installed;
static struct sigaction previous_action; /* the program's SIGSEGV action   */
static struct sigaction previous_bus;    /* the program's SIGBUS action    */
static struct sigaction libsigsegv_action; /* what libsigsegv installed     */
/* A one-shot (SA_RESETHAND) previous handler has run: it is SIG_DFL now.
 * [0] for SIGSEGV, [1] for SIGBUS. */
static atomic_bool previous_spent[2];

/* Set by front_handler for on_sigsegv, which libsigsegv calls without them. */
static __thread enum dpemu_access trap_access __attribute__((tls_model("initial-exec")));
static __thread siginfo_t *trap_info __attribute__((tls_model("initial-exec")));
static __thread void *trap_context __attribute__((tls_model("initial-exec")));
static __thread uint64_t trap_t0 __attribute__((tls_model("initial-exec")));

/* When a trap is entered: the start of its fault's latency (0: faults are
 * not timed, DPEMU_NO_LATENCY). */
static inline uint64_t trap_clock(void)
{
	return atomic_load_explicit(&_dpemu_latency_off, memory_order_relaxed) ? 0 : now_ns();
}

/* The call into a previous handler this thread is making (chain_previous),
 * to recognise that handler calling dpemu's back (see chain_cycle). */
struct chain_call {
	int sig;           /* 0: none                                          */
	siginfo_t *si;     /* what the previous handler was given              */
	void *uc;
	void *addr;        /* si's address and code, should it pass a copy     */
	int code;
	uintptr_t sp;      /* chain_previous's frame: a call back is deeper    */
};
static __thread struct chain_call chaining __attribute__((tls_model("initial-exec")));

struct catch_frame {
	sigjmp_buf jump;
	struct dpemu_fault fault;
	struct catch_frame *outer;
};
static __thread struct catch_frame *catch_top __attribute__((tls_model("initial-exec")));

/* Read/write/exec from the page-fault error code, where the CPU gives it. */
static enum dpemu_access access_from_context(void *uc)
{
#if defined(__x86_64__)
	/* x86 page-fault error code: bit 1 = write, bit 4 = instruction fetch */
	greg_t err = ((ucontext_t *)uc)->uc_mcontext.gregs[REG_ERR];
	if (err & 0x10)
		return DPEMU_ACCESS_EXEC;
	return (err & 0x2) ? DPEMU_ACCESS_WRITE : DPEMU_ACCESS_READ;
#else
	(void)uc;
	return DPEMU_ACCESS_UNKNOWN;
#endif
}

/*
 * The signals blocked while dpemu's handlers run: every asynchronous one,
 * so that no signal handler of the program can interrupt a resolution
 * (which holds dpemu's locks, and in SIGBUS mode runs with SIGBUS blocked:
 * a fault of that handler would kill the process on the spot).  The fault
 * signals stay deliverable; the handler's own is blocked by the kernel.
 */
static void fault_path_mask(sigset_t *set)
{
	sigfillset(set);
	sigdelset(set, SIGSEGV);
	sigdelset(set, SIGBUS);
	sigdelset(set, SIGILL);
	sigdelset(set, SIGFPE);
	sigdelset(set, SIGTRAP);
	sigdelset(set, SIGSYS);
}

/* Nobody handles signal sig: its default action, as without dpemu.  A
 * fault faults again on return and kills; a sent signal is sent again and
 * kills when the handler returns (it is blocked until then). */
static void default_action(int sig, const siginfo_t *si)
{
	struct sigaction dfl;

	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
	if (si && si->si_code <= 0) /* sent by kill(2), not a fault: send it again */
		raise(sig);
}

/*
 * Is this entry into dpemu's handler a call back from the previous handler
 * that chain_previous is running on this thread - one that was installed
 * after dpemu's, keeps dpemu's as the handler it displaced, and passes
 * what is not its own to it?  Then the signal went round the whole chain
 * and nobody took it.  A call back runs on the same stack, its frame
 * (dpemu's handler's, given as frame) deeper than chain_previous's, with
 * the siginfo it was given (or a copy: the same address and code).  A new
 * signal does not: after a siglongjmp out of the previous handler, which
 * leaves `chaining` stale, a new delivery starts at the top of the signal
 * stack, above chain_previous's old frame, or elsewhere with another
 * siginfo.
 */
static bool chain_cycle(int sig, const siginfo_t *si, const void *uc, uintptr_t frame)
{
	if (chaining.sig != sig || frame >= chaining.sp)
		return false;
	if (si == chaining.si && uc == chaining.uc)
		return true;
	return si && si->si_addr == chaining.addr && si->si_code == chaining.code;
}

/*
 * A fault that is not dpemu's (or that dpemu reports): do what would have
 * happened without dpemu, as the kernel would deliver it to the program's
 * previous action:
 *   - a handler runs with the real siginfo and context, with the signal
 *     mask the kernel would give it (the interrupted thread's mask, plus
 *     its sa_mask, plus the signal unless SA_NODEFER); a one-shot handler
 *     (SA_RESETHAND) runs once, and then the action is SIG_DFL;
 *   - SIG_IGN ignores a signal sent by kill(2) and the like; a real fault
 *     cannot be ignored (the kernel kills for it): the default action;
 *   - SIG_DFL: the default action (default_action).
 * A handler that passes the signal back to dpemu's makes a cycle, cut at
 * the first call back (chain_cycle): the default action.  Not inlined:
 * its frame must lie below its caller's (chain_cycle compares frames).
 */
static __attribute__((noinline)) void chain_previous(int sig, siginfo_t *si, void *uc)
{
	int which = sig == SIGBUS;
	struct sigaction prev = which ? previous_bus : previous_action;
	bool handler = (prev.sa_flags & SA_SIGINFO) ? prev.sa_sigaction != NULL
	               : prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN;
	struct chain_call outer = chaining;
	sigset_t mask, saved;

	if (handler && (prev.sa_flags & SA_RESETHAND) &&
	    atomic_exchange(&previous_spent[which], true))
		handler = false; /* it ran once: SIG_DFL since */
	if (!handler) {
		if (!(prev.sa_flags & SA_SIGINFO) && prev.sa_handler == SIG_IGN &&
		    si && si->si_code <= 0)
			return; /* a sent signal, ignored */
		default_action(sig, si);
		return;
	}
	if (uc)
		mask = ((ucontext_t *)uc)->uc_sigmask;
	else
		pthread_sigmask(SIG_SETMASK, NULL, &mask);
	for (int s = 1; s < NSIG; s++)
		if (sigismember(&prev.sa_mask, s) == 1)
			sigaddset(&mask, s);
	if (prev.sa_flags & SA_NODEFER)
		sigdelset(&mask, sig);
	else
		sigaddset(&mask, sig);
	pthread_sigmask(SIG_SETMASK, &mask, &saved);
	chaining = (struct chain_call){ sig, si, uc, si ? si->si_addr : NULL,
	                                si ? si->si_code : 0,
	                                (uintptr_t)__builtin_frame_address(0) };
	if (prev.sa_flags & SA_SIGINFO)
		prev.sa_sigaction(sig, si, uc);
	else
		prev.sa_handler(sig);
	chaining = outer;
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
}

static void catch_continuation(void *frame, void *unused1, void *unused2)
{
	siglongjmp(((struct catch_frame *)frame)->jump, 1);
}

static const char *access_name(enum dpemu_access a)
{
	switch (a) {
	case DPEMU_ACCESS_READ:  return "read";
	case DPEMU_ACCESS_WRITE: return "write";
	case DPEMU_ACCESS_EXEC:  return "exec";
	default:                 return "access";
	}
}

/*
 * An unresolvable fault: hand it to the innermost dpemu_catch of this
 * thread, or write one line to stderr and die as an uncaught fault would
 * (SIGBUS when out of frames, else SIGSEGV through the program's handler or
 * the default action).  Returns the value for libsigsegv only when the
 * program's own handler returned.
 */
static int report(const struct dpemu_fault *fault, const char *why)
{
	char line[512];
	size_t pos;

	if (catch_top) {
		catch_top->fault = *fault;
		return sigsegv_leave_handler(catch_continuation, catch_top, NULL, NULL);
	}
	pos = fmt_str(line, sizeof line, 0, "dpemu: ");
	pos = fmt_str(line, sizeof line, pos, dpemu_fault_kind_name(fault->kind));
	pos = fmt_str(line, sizeof line, pos, " fault at ");
	pos = fmt_hex(line, sizeof line, pos, (uintptr_t)fault->addr);
	pos = fmt_str(line, sizeof line, pos, " (");
	pos = fmt_str(line, sizeof line, pos, access_name(fault->access));
	pos = fmt_str(line, sizeof line, pos, "): ");
	pos = fmt_str(line, sizeof line, pos, why);
	if (fault->error) {
		pos = fmt_str(line, sizeof line, pos, " (");
		pos = fmt_errno(line, sizeof line, pos, fault->error);
		pos = fmt_str(line, sizeof line, pos, ")");
	}
	pos = fmt_str(line, sizeof line, pos, "\n");
	if (write(STDERR_FILENO, line, pos) < 0) {
		/* nothing more can be done about a failed message */
	}

	if (fault->kind == DPEMU_FAULT_OUT_OF_FRAMES) {
		struct sigaction dfl;
		sigset_t set;
		memset(&dfl, 0, sizeof dfl);
		dfl.sa_handler = SIG_DFL;
		sigaction(SIGBUS, &dfl, NULL);
		sigemptyset(&set);
		sigaddset(&set, SIGBUS);
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
		raise(SIGBUS);
	}
	chain_previous(SIGSEGV, trap_info, trap_context);
	return 1; /* retry the access: it faults again, as on a real machine */
}

/* libsigsegv's callback for a fault inside some arena. */
static int on_sigsegv(void *fault_address, int serious)
{
	struct dpemu_fault fault;
	char why[160];
	struct dpemu_space *s;
	enum resolve_result r;
	unsigned ticket = registry_enter();

	s = registry_find(fault_address);
	if (!s) {
		registry_leave(ticket);
		chain_previous(SIGSEGV, trap_info, trap_context);
		return 1;
	}
	struct trap_stamp stamp = { trap_t0, 0 };
	r = fault_resolve(s, fault_address, trap_access, &stamp, &fault, why, sizeof why, 0);
	if (r == UNRESOLVED)
		fault_unrevoke(s, fault_address); /* before report jumps away */
	registry_leave(ticket);
	if (r == RESOLVED)
		return 1;
	return report(&fault, why);
}

static void front_handler(int sig, siginfo_t *si, void *uc)
{
	int saved_errno = errno;
	uint64_t t0 = trap_clock();
	struct dpemu_space *s;

	/* Not a fault: uffd.c's word that a system call of this thread was
	 * refused, now that it has returned (or the same signal, its
	 * information lost for want of kernel memory: SI_USER from pid 0). */
	if ((si->si_code == UFFD_SI_UNREVOKE || (si->si_code == SI_USER && si->si_pid == 0)) &&
	    (uffd_unrevoke_mine() > 0 || si->si_code == UFFD_SI_UNREVOKE)) {
		errno = saved_errno;
		return;
	}
	if (chain_cycle(sig, si, uc, (uintptr_t)__builtin_frame_address(0))) {
		default_action(sig, si); /* back from the previous handler */
		errno = saved_errno;
		return;
	}
	unsigned ticket = registry_enter();
	s = registry_find(si->si_addr);
	registry_leave(ticket);
	if (s && si->si_code > 0) {
		trap_access = access_from_context(uc);
		trap_t0 = t0;
		trap_info = si;
		trap_context = uc;
		if (libsigsegv_action.sa_flags & SA_SIGINFO)
			libsigsegv_action.sa_sigaction(sig, si, uc);
		else
			libsigsegv_action.sa_handler(sig);
	} else {
		chain_previous(sig, si, uc);
	}
	errno = saved_errno;
}

/* SIGBUS: a userfaultfd space in SIGBUS mode reports its faults this way;
 * everything else goes to the program's SIGBUS handler or default action. */
static void sigbus_handler(int sig, siginfo_t *si, void *uc)
{
	int saved_errno = errno;
	struct trap_stamp stamp = { trap_clock(), 0 };
	struct dpemu_space *s;

	if (chain_cycle(sig, si, uc, (uintptr_t)__builtin_frame_address(0))) {
		default_action(sig, si); /* back from the previous handler */
		errno = saved_errno;
		return;
	}
	unsigned ticket = registry_enter();
	s = registry_find(si->si_addr);
	if (s && s->hostmode == HOSTMODE_UFFD && s->uffd_mode == DPEMU_UFFD_SIGBUS &&
	    si->si_code > 0) {
		uffd_resolve(s, si->si_addr, access_from_context(uc), &stamp);
		registry_leave(ticket);
	} else {
		registry_leave(ticket);
		chain_previous(sig, si, uc);
	}
	errno = saved_errno;
}

/* Install dpemu's SIGBUS handler, or put it back in front (the displacing
 * handler becomes the previous one).  Called for each SIGBUS-mode space. */
int trap_sigbus_install(void)
{
	struct sigaction current, mine;

	pthread_mutex_lock(&install_mutex);
	sigaction(SIGBUS, NULL, &current);
	if (!(sigbus_installed && (current.sa_flags & SA_SIGINFO) &&
	      current.sa_sigaction == sigbus_handler)) {
		previous_bus = current;
		atomic_store(&previous_spent[1], false);
		memset(&mine, 0, sizeof mine);
		mine.sa_sigaction = sigbus_handler;
		mine.sa_flags = SA_SIGINFO | SA_ONSTACK;
		fault_path_mask(&mine.sa_mask);
		sigaction(SIGBUS, &mine, NULL);
		sigbus_installed = true;
	}
	pthread_mutex_unlock(&install_mutex);
	return 0;
}

/*
 * Install dpemu's SIGSEGV handling, or put it back in front if somebody
 * replaced it since (the replacement becomes the "previous" handler that
 * non-arena faults go to).  Called at every dpemu_space_create.
 * Returns 0, or -ENOSYS when libsigsegv cannot catch SIGSEGV here.
 */
int trap_sigsegv_install(void)
{
	struct sigaction current, front;
	int err = 0;

	pthread_mutex_lock(&install_mutex);
	sigaction(SIGSEGV, NULL, &current);
	if (installed && (current.sa_flags & SA_SIGINFO) && current.sa_sigaction == front_handler)
		goto out;
	if (!installed) {
		previous_action = current;
		if (sigsegv_install_handler(on_sigsegv) < 0) {
			sigaction(SIGSEGV, &previous_action, NULL);
			err = set_error(-ENOSYS, "libsigsegv cannot catch SIGSEGV on this system");
			goto out;
		}
		sigaction(SIGSEGV, NULL, &libsigsegv_action);
		installed = true;
	} else {
		previous_action = current;
	}
	atomic_store(&previous_spent[0], false);
	front = libsigsegv_action;
	front.sa_sigaction = front_handler;
	/* (SA_RESTART: trap_uffd.c's signal, queued during a system call, must
	 * not make it fail with EINTR.) */
	front.sa_flags = (libsigsegv_action.sa_flags | SA_SIGINFO | SA_ONSTACK | SA_RESTART) &
	                 ~(SA_RESETHAND | SA_NODEFER);
	fault_path_mask(&front.sa_mask);
	sigaction(SIGSEGV, &front, NULL);
	atomic_store(&_dpemu_sigsegv_front, front_handler);
out:
	pthread_mutex_unlock(&install_mutex);
	return err;
}

DPEMU_API int dpemu_catch(void (*fn)(void *arg), void *arg, struct dpemu_fault *out)
{
	struct catch_frame frame;

	if (!fn || !out)
		return set_error(-EINVAL, "dpemu_catch: fn and out must not be NULL");
	memset(out, 0, sizeof *out);
	frame.outer = catch_top;
	if (sigsetjmp(frame.jump, 1) == 0) {
		catch_top = &frame;
		fn(arg);
		catch_top = frame.outer;
		return 0;
	}
	catch_top = frame.outer;
	*out = frame.fault;
	return 1;
}
