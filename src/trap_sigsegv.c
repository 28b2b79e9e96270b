/*
 * trap_sigsegv.c - the signal side of dpemu: catching SIGSEGV through GNU
 * libsigsegv (the SIGSEGV backend, and the reports of every backend),
 * SIGBUS for userfaultfd's SIGBUS mode, passing on signals that are not
 * dpemu's, reporting the faults dpemu cannot resolve, and dpemu_catch.
 *
 * Fault path: front_handler, sigbus_handler, on_sigsegv, chain_previous and
 * report run in signal context.  They may call: the registry (space.c),
 * fault_resolve (fault.c), uffd_resolve (uffd.c), sigaction, write(2),
 * raise, siglongjmp (via sigsegv_leave_handler) and the fmt_* formatters;
 * never malloc or stdio.  errno is saved on entry to the two handlers and
 * restored before they return.
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
 * handler keeps the program's handler itself (see DESIGN-NOTES.md).
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

__thread int dpemu_locks_held __attribute__((tls_model("initial-exec")));
__thread int dpemu_tid_cache __attribute__((tls_model("initial-exec")));

static pthread_mutex_t install_mutex = PTHREAD_MUTEX_INITIALIZER;
static bool installed, sigbus_installed;
static struct sigaction previous_action; /* the program's SIGSEGV action   */
static struct sigaction previous_bus;    /* the program's SIGBUS action    */
static struct sigaction libsigsegv_action; /* what libsigsegv installed     */

/* Set by front_handler for on_sigsegv, which libsigsegv calls without them. */
static __thread enum dpemu_access trap_access __attribute__((tls_model("initial-exec")));
static __thread siginfo_t *trap_info __attribute__((tls_model("initial-exec")));
static __thread void *trap_context __attribute__((tls_model("initial-exec")));

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
 * A fault that is not dpemu's (or that dpemu reports): do what would have
 * happened without dpemu.  A handler of the program's runs with the real
 * siginfo; with the default action the signal is reset to SIG_DFL, so the
 * faulting instruction faults again on return and the process dies.
 */
static void chain_previous(int sig, siginfo_t *si, void *uc)
{
	const struct sigaction *prev = sig == SIGBUS ? &previous_bus : &previous_action;
	struct sigaction dfl;

	if (prev->sa_flags & SA_SIGINFO) {
		prev->sa_sigaction(sig, si, uc);
		return;
	}
	if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
		prev->sa_handler(sig);
		return;
	}
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
	if (si->si_code <= 0) /* sent by kill(2), not a fault: send it again */
		raise(sig);
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
		pos = fmt_str(line, sizeof line, pos, dpemu_strerror(fault->error));
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

	registry_enter();
	s = registry_find(fault_address);
	if (!s) {
		registry_leave();
		chain_previous(SIGSEGV, trap_info, trap_context);
		return 1;
	}
	r = fault_resolve(s, fault_address, trap_access, &fault, why, sizeof why, 0);
	registry_leave();
	if (r == RESOLVED)
		return 1;
	return report(&fault, why);
}

static void front_handler(int sig, siginfo_t *si, void *uc)
{
	int saved_errno = errno;
	struct dpemu_space *s;

	registry_enter();
	s = registry_find(si->si_addr);
	registry_leave();
	if (s && si->si_code > 0) {
		trap_access = access_from_context(uc);
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
	struct dpemu_space *s;

	registry_enter();
	s = registry_find(si->si_addr);
	if (s && s->hostmode == HOSTMODE_UFFD && s->uffd_mode == DPEMU_UFFD_SIGBUS &&
	    si->si_code > 0) {
		uffd_resolve(s, si->si_addr, access_from_context(uc));
		registry_leave();
	} else {
		registry_leave();
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
		memset(&mine, 0, sizeof mine);
		mine.sa_sigaction = sigbus_handler;
		mine.sa_flags = SA_SIGINFO | SA_ONSTACK;
		sigemptyset(&mine.sa_mask);
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
	front = libsigsegv_action;
	front.sa_sigaction = front_handler;
	front.sa_flags = (libsigsegv_action.sa_flags | SA_SIGINFO | SA_ONSTACK) & ~SA_RESETHAND;
	sigaction(SIGSEGV, &front, NULL);
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
