// SPDX-License-Identifier: GPL-2.0
/*
 * What a call may answer. The allowed errnos are the spec's for each part
 * (/work's spec, docs/spec-decisions.md), for a root caller whose fatal
 * signals never arrive mid-call:
 *   Parts 1, 2  EINVAL (command), ESRCH (no task, or no mm), EFAULT;
 *               Part 2 also ENOMEM (bounce buffer, GUP).
 *   Part 3      ioctl: EFAULT, ESRCH; lseek: EINVAL (SEEK_END, bad whence);
 *               read/write: ESRCH, EFAULT, ENOMEM, and EOVERFLOW from the VFS
 *               (rw_verify_area) for a position at or above 2^63.
 * Besides the set, a result must not exceed what was asked (len, MAX_RW_COUNT,
 * and for Part 1 the end of the page), bytes after the asked length in the
 * caller's buffer stay untouched, and stable pages read back exactly.
 */
#include "fuzz.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct tally *tally;

void violation(const char *fmt, ...)
{
	va_list ap;

	if (tally->violations++ < 20) {
		printf("violation: ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
}

const char *errno_name(int err)
{
	static char other[16];

	switch (err) {
	case EINVAL: return "EINVAL";
	case ESRCH: return "ESRCH";
	case EFAULT: return "EFAULT";
	case ENOMEM: return "ENOMEM";
	case EPERM: return "EPERM";
	case EINTR: return "EINTR";
	case EOVERFLOW: return "EOVERFLOW";
	case ENXIO: return "ENXIO";
	case EBADF: return "EBADF";
	case ENOSYS: return "ENOSYS";
	case ENOTTY: return "ENOTTY";
	case EIO: return "EIO";
	case EAGAIN: return "EAGAIN";
	case EHWPOISON: return "EHWPOISON";
	}
	snprintf(other, sizeof(other), "E%d", err);
	return other;
}

void count_errno(int err)
{
	tally->errnos[err > 0 && err < 256 ? err : 0]++;
}

bool errno_allowed(int part, const char *op, int err, unsigned long pos)
{
	if (part == 1)
		return err == EINVAL || err == ESRCH || err == EFAULT;
	if (part == 2)
		return err == EINVAL || err == ESRCH || err == EFAULT || err == ENOMEM;
	if (!strcmp(op, "ioctl"))
		return err == EFAULT || err == ESRCH;
	if (!strcmp(op, "lseek"))
		return err == EINVAL;
	return err == ESRCH || err == EFAULT || err == ENOMEM ||
	       (err == EOVERFLOW && pos >= 1UL << 63);
}

/* @ret bytes for a request of @len: never more than asked, nor past @limit. */
void check_bytes(long ret, unsigned long len, unsigned long limit, const char *what)
{
	unsigned long most = len < limit ? len : limit;

	if (ret >= 0 && (unsigned long)ret > most)
		violation("%s: %ld bytes for a request of %lu (at most %lu)", what, ret, len, most);
}

#define CANARY 0xa5
#define CANARY_BYTES 64

/*
 * Fills the CANARY_BYTES after @b + @len that lie in the caller buffer, so
 * check_canary() can tell whether a call wrote more than it was asked.
 */
void fill_canary(const unsigned char *b, unsigned long len);

void fill_canary(const unsigned char *b, unsigned long len)
{
	unsigned long i;

	if (b < buf || b >= buf + BUF_BYTES || len > BUF_BYTES)
		return;
	for (i = (unsigned long)(b - buf) + len;
	     i < BUF_BYTES && i < (unsigned long)(b - buf) + len + CANARY_BYTES; i++)
		buf[i] = CANARY;
}

void check_canary(const unsigned char *b, unsigned long len)
{
	unsigned long i;

	if (b < buf || b >= buf + BUF_BYTES || len > BUF_BYTES)
		return;
	for (i = (unsigned long)(b - buf) + len;
	     i < BUF_BYTES && i < (unsigned long)(b - buf) + len + CANARY_BYTES; i++) {
		if (buf[i] != CANARY) {
			violation("byte %lu after a %lu-byte read was written", i - (b - buf) - len, len);
			return;
		}
	}
}

/* A read of @ret bytes at @addr of a stable page (in @pid, self or target) holds the pattern. */
void check_stable(pid_t pid, pid_t self, pid_t target, unsigned long addr,
		  const unsigned char *b, long ret)
{
	unsigned long i, end = STABLE_ADDR + STABLE_PAGES * PAGE;

	if ((pid != self && pid != target) || ret <= 0 || addr < STABLE_ADDR || addr >= end)
		return;
	if (b < buf || b + ret > buf + BUF_BYTES)
		return;
	for (i = 0; i < (unsigned long)ret && addr + i < end; i++) {
		if (b[i] != stable_byte(addr + i)) {
			violation("stable byte at %#lx of pid %d read as %#x, is %#x", addr + i,
				  pid, b[i], stable_byte(addr + i));
			return;
		}
	}
}
