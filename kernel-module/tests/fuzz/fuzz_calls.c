// SPDX-License-Identifier: GPL-2.0
/*
 * The fuzz loops: farfetch(2) for Parts 1 and 2, and for Part 3 random
 * ioctl/lseek/read/write sequences on two open files of the device, whose
 * pid and position the loop models so that a write lands only where it may.
 */
#include "fuzz.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#ifndef FAR_READ
#define FAR_READ 0
#define FAR_WRITE 1
#endif

static void tally_result(long ret)
{
	tally->calls++;
	if (ret >= 0) {
		tally->ok++;
		tally->bytes += (unsigned long)ret;
	} else {
		count_errno((int)-ret);
	}
}

/* What the spec fixes exactly, beyond the allowed set. */
static void check_exact(const struct part *p, const struct pick *c, unsigned int cmd, long ret)
{
	long want = 1;	/* no exact answer */
	unsigned long room, end = STABLE_ADDR + STABLE_PAGES * PAGE, most;

	if (cmd != FAR_READ && cmd != FAR_WRITE)
		want = -EINVAL;
	else if (!c->len)
		want = 0;
	else if (c->kind == P_INVALID || c->kind == P_KTHREAD)
		want = -ESRCH;
	else if (c->kind == P_SELF && c->addr >= USER_END)
		want = -EFAULT;
	else if (c->kind == P_SELF && cmd == FAR_READ && c->ubuf_ok &&
		 c->addr >= STABLE_ADDR && c->addr < end) {
		/* Present pages, room in the buffer: all of it, to the page end (p1) or the hole (p2). */
		most = p->num == 1 ? PAGE - (c->addr & (PAGE - 1)) : end - c->addr;
		room = (unsigned long)(buf + BUF_BYTES - c->ubuf);
		if (c->len < most)
			most = c->len;
		if (room >= most)
			want = (long)most;
	}
	if (want != 1 && ret != want)
		violation("part %d cmd %u pid %d (kind %d) addr %#lx len %#lx buf %p: %ld, want %ld",
			  p->num, cmd, c->pid, c->kind, c->addr, c->len, (void *)c->ubuf, ret, want);
}

static void check_result(const struct part *p, const struct pick *c, unsigned int cmd,
			 long ret, pid_t self, pid_t target)
{
	unsigned long limit = MAX_RW_COUNT;

	if (ret < 0) {
		if (!errno_allowed(p->num, "farfetch", (int)-ret, 0))
			violation("part %d: farfetch(%u, %p, %d, %#lx, %#lx) = -%s, not allowed",
				  p->num, cmd, (void *)c->ubuf, c->pid, c->addr, c->len,
				  errno_name((int)-ret));
	}
	if (p->num == 1)
		limit = PAGE - (c->addr & (PAGE - 1));
	check_bytes(ret, c->len, limit, p->num == 1 ? "farfetch_p1" : "farfetch_p2");
	check_exact(p, c, cmd, ret);
	if (cmd == FAR_READ) {
		check_canary(c->ubuf, c->len);
		check_stable(c->pid, self, target, c->addr, c->ubuf, ret);
	}
	if (cmd == FAR_WRITE && ret > 0 && c->kind == P_SELF && c->ubuf_ok && in_scratch(c->addr) &&
	    memcmp((void *)c->addr, c->ubuf, (size_t)ret))
		violation("part %d: FAR_WRITE of %ld bytes to own scratch %#lx reads back different",
			  p->num, ret, c->addr);
}

void fuzz_syscall(const struct part *p, unsigned long calls, uint64_t seed, pid_t *target)
{
	static const unsigned int bad_cmds[] = { 2, 3, 0x80000000U, ~0U, 0x100 };
	pid_t self = getpid();
	uint64_t s = seed;
	struct pick c;
	unsigned int cmd;
	unsigned long i;
	long ret;

	for (i = 0; i < calls; i++) {
		if (!(i & 255))
			*target = target_alive(*target, seed + i);
		pick_pid(&c, &s, self, *target);
		pick_addr(&c, &s, p);
		pick_len(&c, &s);
		pick_buf(&c, &s);
		cmd = below(&s, 20) ? (unsigned int)below(&s, 2) : bad_cmds[below(&s, 5)];
		/* A write that could land outside our own memory is a read instead. */
		if (cmd == FAR_WRITE && !c.writable)
			cmd = FAR_READ;
		if (cmd == FAR_READ)
			fill_canary(c.ubuf, c.len);
		ret = sys_far(cmd, c.ubuf, c.pid, c.addr, c.len);
		tally_result(ret);
		check_result(p, &c, cmd, ret, self, *target);
	}
}

/* One open file of the device as the loop knows it. */
struct dev_file {
	int fd;
	enum pid_kind kind;	/* of the pid set by the last successful ioctl */
	bool has_pid;
	unsigned long pos;
};

/* Where a write() of @len at @f's position may go: our memory, or nowhere. */
static bool device_write_ok(const struct dev_file *f)
{
	if (!f->has_pid || f->kind == P_KTHREAD)
		return true;	/* -ESRCH before any page */
	if (f->kind == P_TARGET)
		return f->pos < STABLE_ADDR || f->pos >= STABLE_ADDR + STABLE_PAGES * PAGE;
	if (f->kind == P_SELF && in_scratch(f->pos))
		return true;
	return never_mapped(f->pos);
}

static void device_ioctl(const struct part *p, struct dev_file *f, uint64_t *s,
			 pid_t self, pid_t target)
{
	struct pick c;
	pid_t *arg = (pid_t *)buf;
	void *where = arg;
	long ret;

	pick_pid(&c, s, self, target);
	*arg = c.pid;
	switch (below(s, 6)) {
	case 0: where = NULL; break;
	case 1: where = (void *)0xffffffff81000000UL; break;
	case 2:
		where = buf + BUF_BYTES - 2;	/* half in the guard page */
		break;
	case 3:
		where = ro_page;	/* readable: holds 0x77777777, no such pid */
		c.pid = 0x77777777;
		c.kind = P_INVALID;
		break;
	}
	ret = ioctl(f->fd, (unsigned long)rnd(s), where) < 0 ? -errno : 0;
	tally_result(ret);
	if (ret < 0 && !errno_allowed(p->num, "ioctl", (int)-ret, 0))
		violation("ioctl(%p -> pid %d) = -%s, not allowed", where, c.pid, errno_name((int)-ret));
	if ((where == arg || where == ro_page) && c.kind == P_INVALID && ret != -ESRCH)
		violation("ioctl(pid %d) = %ld, want -ESRCH", c.pid, ret);
	if (where != arg && where != ro_page && ret != -EFAULT)
		violation("ioctl(bad pointer %p) = %ld, want -EFAULT", where, ret);
	if (!ret) {
		f->has_pid = true;
		f->kind = c.kind;
	}
}

static void device_lseek(const struct part *p, struct dev_file *f, uint64_t *s)
{
	static const int whences[] = { SEEK_SET, SEEK_SET, SEEK_SET, SEEK_CUR, SEEK_END, 3, 4, 99 };
	int whence = whences[below(s, 8)];
	struct pick c = { .kind = P_TARGET };
	long long off;
	off_t pos;
	long ret;

	pick_addr(&c, s, p);
	off = whence == SEEK_CUR ? (long long)below(s, 4 * PAGE) - (long long)(2 * PAGE)
				 : (long long)c.addr;
	/* glibc takes a result within 4095 of 2^64 for an error: not a position to test. */
	if ((unsigned long)off >= ~0UL - 4095 || (whence == SEEK_CUR && f->pos + off >= ~0UL - 4095))
		off = 0;
	pos = lseek(f->fd, off, whence);
	ret = pos == -1 ? -errno : 0;
	tally_result(ret);
	if (ret < 0 && !errno_allowed(p->num, "lseek", (int)-ret, 0))
		violation("lseek(%lld, %d) = -%s, not allowed", off, whence, errno_name((int)-ret));
	/* Every address is a position (unsigned offsets); SEEK_CUR may wrap, and may refuse to. */
	if (whence == SEEK_SET && ret < 0)
		violation("lseek(%#llx, SEEK_SET) = -%s, want the position", off, errno_name((int)-ret));
	if (whence != SEEK_SET && whence != SEEK_CUR && ret != -EINVAL)
		violation("lseek(%lld, whence %d) = %ld, want -EINVAL", off, whence, ret);
	if (!ret)
		f->pos = (unsigned long)pos;
}

static void device_rw(const struct part *p, struct dev_file *f, uint64_t *s, pid_t self, pid_t target)
{
	bool write_op = below(s, 2) && device_write_ok(f);
	struct pick c = { .kind = f->kind };
	unsigned long pos = f->pos;
	long ret;

	pick_len(&c, s);
	pick_buf(&c, s);
	if (!write_op)
		fill_canary(c.ubuf, c.len);
	ret = write_op ? write(f->fd, c.ubuf, c.len) : read(f->fd, c.ubuf, c.len);
	ret = ret < 0 ? -errno : ret;
	tally_result(ret);
	if (ret < 0 && !errno_allowed(p->num, "rw", (int)-ret, pos))
		violation("%s(%#lx bytes at %#lx, buf %p) = -%s, not allowed", write_op ? "write" : "read",
			  c.len, pos, (void *)c.ubuf, errno_name((int)-ret));
	check_bytes(ret, c.len, MAX_RW_COUNT, "farfetch_p3");
	/* The VFS checks the buffer (access_ok) before the module looks for a pid. */
	if (!f->has_pid && ret != -ESRCH && (unsigned long)c.ubuf + c.len >= (unsigned long)c.ubuf &&
	    (unsigned long)c.ubuf + c.len <= (1UL << 47) - PAGE)
		violation("%s without a pid = %ld, want -ESRCH", write_op ? "write" : "read", ret);
	if (!write_op) {
		check_canary(c.ubuf, c.len);
		if (f->has_pid)
			check_stable(f->kind == P_SELF ? self : f->kind == P_TARGET ? target : -1,
				     self, target, pos, c.ubuf, ret);
	}
	if (ret > 0)
		f->pos += (unsigned long)ret;
	if (f->pos != (unsigned long)lseek(f->fd, 0, SEEK_CUR) && f->pos < ~0UL - 4095)
		violation("position after %s of %ld bytes is %#lx, want %#lx", write_op ? "write" : "read",
			  ret, (unsigned long)lseek(f->fd, 0, SEEK_CUR), f->pos);
}

void fuzz_device(const struct part *p, unsigned long calls, uint64_t seed, pid_t *target)
{
	struct dev_file files[2] = { { .fd = p->dev_fd[0] }, { .fd = p->dev_fd[1] } };
	pid_t self = getpid();
	uint64_t s = seed;
	struct dev_file *f;
	unsigned long i;

	for (i = 0; i < calls; i++) {
		if (!(i & 255))
			*target = target_alive(*target, seed + i);
		f = &files[below(&s, 2)];
		switch (below(&s, 8)) {
		case 0: device_ioctl(p, f, &s, self, *target); break;
		case 1:
		case 2: device_lseek(p, f, &s); break;
		default: device_rw(p, f, &s, self, *target); break;
		}
	}
}
