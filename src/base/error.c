/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * error.c - error strings, the per-thread "last error" message, and the
 * small async-signal-safe formatters the fault path uses instead of stdio.
 *
 * set_error() is API side only (it uses vsnprintf).  The fmt_* functions
 * are fault-path safe: they only write into the caller's buffer, and
 * fmt_errno describes an errno from dpemu's own table (errno_text), never
 * with strerror(3), which may take a lock or translate through the locale.
 *
 * Layer: base (src/internal.h).  Calls: libc only.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static __thread char last_error[256];

DPEMU_API const char *dpemu_version(void)
{
	return PACKAGE_VERSION;
}

DPEMU_API const char *dpemu_last_error(void)
{
	return last_error;
}

/* The arguments may include dpemu_last_error() itself (a message that
 * wraps an inner one), hence the copy through tmp. */
int set_error(int err, const char *fmt, ...)
{
	char tmp[sizeof last_error];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	memcpy(last_error, tmp, sizeof last_error);
	return err;
}

/*
 * Report the failure err of an inner call as fn's: the message becomes
 * "fn: <the inner message>", unless the inner message names fn already
 * (it starts with "fn: "), so that no message says a function's name
 * twice.  Returns err.
 */
int wrap_error(int err, const char *fn)
{
	size_t l = strlen(fn);

	if (strncmp(last_error, fn, l) == 0 && last_error[l] == ':')
		return err;
	return set_error(err, "%s: %s", fn, last_error);
}

/* Forget the message of a failure that was recovered from. */
void clear_error(void)
{
	last_error[0] = '\0';
}

/* dpemu's own description of err, or NULL.  Async-signal-safe. */
static const char *errno_text(int err)
{
	switch (err) {
	case 0:        return "success";
	case -EINVAL:  return "invalid argument";
	case -ENOMEM:  return "out of memory, address space or host mappings (see vm.max_map_count)";
	case -EEXIST:  return "the range is already mapped";
	case -ENOENT:  return "no such object";
	case -EBUSY:   return "the object is still in use";
	case -EPERM:   return "operation not permitted";
	case -ENOSYS:  return "not supported by this build or kernel";
	case -EBADF:   return "bad file descriptor";
	case -EACCES:  return "file descriptor does not allow this access";
	case -ENODEV:  return "the file cannot be mapped (not a regular file)";
	case -EIO:     return "input/output error while reading or writing back a file";
	case -EFAULT:  return "bad address";
	case -ERANGE:  return "value out of range";
	case -EDEADLK: return "the thread was inside a dpemu call (a signal handler touched an arena)";
	case -ENOSPC:  return "no space left on the device";
	case -EAGAIN:  return "resource temporarily unavailable";
	case -EINTR:   return "interrupted system call";
	case -EMFILE:  return "no file descriptor left";
	case -ENFILE:  return "too many open files in the system";
	case -EOVERFLOW: return "value too large for the type";
	case -EROFS:   return "read-only file system";
	case -EFBIG:   return "file too large";
	case -EDQUOT:  return "disk quota exceeded";
	case -ENXIO:   return "no such device or address";
	case -ESRCH:   return "no such process";
	}
	return NULL;
}

DPEMU_API const char *dpemu_strerror(int err)
{
	const char *text = errno_text(err);

	if (text)
		return text;
	if (err < 0 && err > -4096)
		return strerror(-err);
	return "unknown error";
}

size_t fmt_errno(char *buf, size_t len, size_t pos, int err)
{
	const char *text = errno_text(err);

	if (text)
		return fmt_str(buf, len, pos, text);
	pos = fmt_str(buf, len, pos, "errno ");
	return fmt_dec(buf, len, pos, err < 0 ? (uint64_t)-(int64_t)err : (uint64_t)err);
}

DPEMU_API const char *dpemu_fault_kind_name(enum dpemu_fault_kind kind)
{
	switch (kind) {
	case DPEMU_FAULT_NONE:          return "no";
	case DPEMU_FAULT_UNMAPPED:      return "unmapped";
	case DPEMU_FAULT_PROTECTION:    return "protection";
	case DPEMU_FAULT_OUT_OF_FRAMES: return "out of frames";
	case DPEMU_FAULT_HOST:          return "host";
	}
	return "unknown";
}

/* The names of dpemu-trace(5) and the tools: never changed (scripts and
 * reports match them).  Async-signal-safe. */
DPEMU_API const char *dpemu_event_name(enum dpemu_event event)
{
	switch (event) {
	case DPEMU_EVENT_ZERO_FILL:  return "zero-fill";
	case DPEMU_EVENT_FILE_READ:  return "file-read";
	case DPEMU_EVENT_COW_COPY:   return "cow-copy";
	case DPEMU_EVENT_COW_REUSE:  return "cow-reuse";
	case DPEMU_EVENT_SWAP_IN:    return "swap-in";
	case DPEMU_EVENT_ZERO_MAP:   return "zero-map";
	case DPEMU_EVENT_REFERENCE:  return "reference";
	case DPEMU_EVENT_TLB_MISS:   return "tlb-miss";
	case DPEMU_EVENT_UNRESOLVED: return "unresolved";
	case DPEMU_EVENT_EVICT:      return "evict";
	case DPEMU_EVENT_SWAP_OUT:   return "swap-out";
	case DPEMU_EVENT_WRITEBACK:  return "writeback";
	case DPEMU_EVENT_MAP:        return "map";
	case DPEMU_EVENT_UNMAP:      return "unmap";
	case DPEMU_EVENT_FORK:       return "fork";
	case DPEMU_EVENT_DESTROY:    return "destroy";
	case DPEMU_EVENT_LOST:       return "lost";
	}
	return "unknown";
}

/* Append s at buf[pos]; returns the new position.  Always NUL-terminates. */
size_t fmt_str(char *buf, size_t len, size_t pos, const char *s)
{
	while (*s && pos + 1 < len)
		buf[pos++] = *s++;
	if (pos < len)
		buf[pos] = '\0';
	return pos;
}

size_t fmt_hex(char *buf, size_t len, size_t pos, uint64_t v)
{
	char tmp[19];
	int i = 18;
	tmp[i] = '\0';
	do {
		tmp[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	tmp[--i] = 'x';
	tmp[--i] = '0';
	return fmt_str(buf, len, pos, tmp + i);
}

size_t fmt_dec(char *buf, size_t len, size_t pos, uint64_t v)
{
	char tmp[21];
	int i = 20;
	tmp[i] = '\0';
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return fmt_str(buf, len, pos, tmp + i);
}
