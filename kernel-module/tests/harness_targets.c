// SPDX-License-Identifier: GPL-2.0
/* The in-guest suite's targets: forked processes, mappings, other users. */
#include "harness.h"

/* ---- targets and helpers ---- */

/*
 * Forks a target that runs @setup(@arg) and then waits until reap(). It
 * shares every mapping of the case as fork() leaves it (copy-on-write).
 */
struct target spawn(void (*setup)(void *), void *arg)
{
	struct target t = { -1, -1 };
	int ready[2], hold[2];
	char c;

	if (pipe(ready) || pipe(hold))
		return t;
	t.pid = fork();
	if (t.pid == 0) {
		int fd;

		/* Keep no other pipe open (the runner's, other targets'). */
		for (fd = 3; fd < 1024; fd++)
			if (fd != ready[1] && fd != hold[0])
				close(fd);
		if (setup)
			setup(arg);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		while (read(hold[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	if (read(ready[0], &c, 1) != 1)
		t.pid = -1;
	close(ready[0]);
	t.hold = hold[1];
	return t;
}

void reap(struct target *t)
{
	if (t->pid > 0) {
		close(t->hold);
		waitpid(t->pid, NULL, 0);
		t->pid = -1;
	}
}

/* The target's memory as it really is (the independent oracle). */
long peek(pid_t pid, unsigned long addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)addr, len };

	return res(process_vm_readv(pid, &local, 1, &remote, 1, 0));
}

char *map_pages(size_t pages)
{
	char *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* An anonymous page written before fork(): parent and child then share it read-only. */
char *cow_page(void)
{
	char *p = map_pages(1);

	if (p)
		strcpy(p, SECRET);
	return p;
}

void write_secret(void *p)
{
	strcpy(p, SECRET);
}

void touch_pages(void *p)
{
	memset(p, 'x', 3 * PAGE);
}

void fill_two_pages(void *p)
{
	memset(p, 'a', 2 * PAGE);
}

/*
 * The last page of user space, written by the target itself: after fork()
 * it would otherwise be copy-on-write, which Part 1 can't write.
 */
void fill_last_page(void *last)
{
	memset(last, 'T', PAGE);
	memcpy((char *)last + PAGE - sizeof(SECRET), SECRET, sizeof(SECRET));
}

/*
 * Runs @fn(@arg) in a child and returns what it returned (through a pipe), or
 * -255 if there was no child or it did not answer.
 */
long in_child(long (*fn)(void *), void *arg)
{
	long ret = -255;
	int p[2];
	pid_t child;

	if (pipe(p))
		return -255;
	child = fork();
	if (child == 0) {
		close(p[0]);
		ret = fn(arg);
		if (write(p[1], &ret, sizeof(ret)) != sizeof(ret))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &ret, sizeof(ret)) != sizeof(ret))
		ret = -255;
	close(p[0]);
	waitpid(child, NULL, 0);
	return ret;
}

struct student_call {
	long (*fn)(void *);
	void *arg;
};

static long call_as_student(void *arg)
{
	const struct student_call *call = arg;

	if (setresgid(STUDENT, STUDENT, STUDENT) || setresuid(STUDENT, STUDENT, STUDENT))
		return -255;
	return call->fn(call->arg);
}

/*
 * Runs @fn(@arg) in a child whose real, effective and saved uids and gids
 * are STUDENT; returns what it returned.
 */
long as_student(long (*fn)(void *), void *arg)
{
	struct student_call call = { fn, arg };
	long ret = in_child(call_as_student, &call);

	if (ret == -255)
		fail("could not run as uid %d", STUDENT);
	return ret;
}

/* A pid with no process: a child that has exited and been reaped. */
pid_t dead_pid(void)
{
	pid_t child = fork();

	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	return child;
}

/* A child that has exited but is not reaped: a task without an mm. */
pid_t zombie_pid(void)
{
	siginfo_t info;
	pid_t child = fork();

	if (child == 0)
		_exit(0);
	/* Returns once it is a zombie, and leaves it one. */
	if (waitid(P_PID, child, &info, WEXITED | WNOWAIT))
		return -1;
	return child;
}
