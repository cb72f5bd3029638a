// SPDX-License-Identifier: GPL-2.0
/*
 * farfetch_tests: the in-guest test suite of Farfetch'd, one named case per
 * behaviour of the spec, each with its exact expected result or errno.
 *
 *   farfetch_tests --module none|p1|p2|p3 [--unloaded] [--case NAME]
 *                  [--skip NAME]... [--list]
 *
 * none, p1 and p2 go through farfetch(2) (system call 505); p3 through
 * /dev/farfetch, which the caller has made (mknod -m 0666). With none, the
 * hook cases (tests_hooks.c) load and unload modules themselves. --unloaded runs
 * only the check that a leftover /dev/farfetch fails with ENXIO after
 * rmmod. --case runs the one case of that name; --skip leaves a case out
 * (repeatable: the grader reruns what an oops interrupted, without the case
 * that oopsed); --list prints the names of the cases that would run, one a
 * line, and runs none. Run as root.
 *
 * Each case runs in a child process of its own (a crash or a hang fails
 * that case only, after TIMEOUT seconds). Its targets are processes it forks
 * itself; their memory is checked independently with process_vm_readv(2).
 *
 * Output is TAP: "1..N", then per case "ok N - name" (or "ok N - name
 * # SKIP why" for a case that can't run here, counted as passed) or
 * "not ok N - name # expected X, got Y ...", then one line
 * "N passed, N failed". The exit status is 0 only if nothing failed
 * (2: bad arguments, or not root).
 *
 * This file is the runner; the cases are in tests_*.c, one table per file,
 * the harness in harness.c.
 */
#include "harness.h"

/* Every case of the suite, in the order they run. */
static const struct {
	const struct test_case *cases;
	const size_t *n;
} tables[] = {
	{ args_cases, &nr_args_cases },
	{ common_cases, &nr_common_cases },
	{ p1_cases, &nr_p1_cases },
	{ gup_cases, &nr_gup_cases },
	{ device_cases, &nr_device_cases },
	{ hook_cases, &nr_hook_cases },
	{ thp_cases, &nr_thp_cases },
	{ memory_cases, &nr_memory_cases },
	{ caller_cases, &nr_caller_cases },
	{ leak_cases, &nr_leak_cases },
};

#define NR_TABLES (sizeof(tables) / sizeof(tables[0]))

/* The @i-th case over all tables, or NULL past the last. */
static const struct test_case *nth_case(size_t i)
{
	size_t t;

	for (t = 0; t < NR_TABLES; i -= *tables[t].n, t++)
		if (i < *tables[t].n)
			return &tables[t].cases[i];
	return NULL;
}

/*
 * Runs one case in a child of its own and fills @why if it failed or was
 * skipped. The child sends its failure message (empty: passed; "# SKIP ...":
 * skipped) through a pipe. Returns 0 (passed), 1 (skipped) or -1 (failed).
 */
static int run_case(const struct test_case *c, char *why, size_t size)
{
	int p[2], status;
	ssize_t got = 0, n;
	pid_t child;

	why[0] = '\0';
	if (pipe(p))
		return snprintf(why, size, "setup failed: pipe: %s", strerror(errno)), -1;
	fflush(stdout);
	child = fork();
	if (child < 0)
		return snprintf(why, size, "setup failed: fork: %s", strerror(errno)), -1;
	if (child == 0) {
		int ret;

		close(p[0]);
		alarm(c->timeout ? c->timeout : TIMEOUT);
		failure[0] = '\0';
		ret = c->fn();
		if (ret && !failure[0])
			fail("the case failed without saying why");
		if (write(p[1], failure, strlen(failure)) < 0)
			_exit(3);
		_exit(failure[0] && strncmp(failure, "# SKIP", 6) ? 1 : 0);
	}
	close(p[1]);
	while (got < (ssize_t)size - 1 && (n = read(p[0], why + got, size - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += n;
	}
	why[got] = '\0';
	close(p[0]);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	/* A case killed mid-way (its time limit, an oops) leaves its kprobes. */
	dirty_watch_cleanup();
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		size_t len = strlen(why);

		snprintf(why + len, size - len, "%sexpected the case to finish, got %s%s",
			 len ? "; " : "", sig == SIGALRM ? "no end within the time limit, " : "",
			 sigdescr_np(sig) ? sigdescr_np(sig) : "a signal");
		return -1;
	}
	if (WEXITSTATUS(status) != 0 && !why[0])
		snprintf(why, size, "expected the case to exit 0, got %d", WEXITSTATUS(status));
	if (WEXITSTATUS(status) == 0 && !strncmp(why, "# SKIP", 6))
		return 1;
	return why[0] ? -1 : 0;
}

#define MAX_SKIPS 256

static const char *skips[MAX_SKIPS];
static unsigned int nr_skips;

/* Whether this run leaves @name out (--skip). */
static int skipped(const char *name)
{
	unsigned int i;

	for (i = 0; i < nr_skips; i++)
		if (!strcmp(skips[i], name))
			return 1;
	return 0;
}

/* Whether @c runs: its modules, --case, --skip. */
static int selected(const struct test_case *c, const char *only)
{
	return (c->modules & module) && (!only || !strcmp(only, c->name)) && !skipped(c->name);
}

static int usage(void)
{
	fprintf(stderr,
		"usage: farfetch_tests --module none|p1|p2|p3 [--unloaded] [--case NAME]\n"
		"                      [--skip NAME]... [--list]\n"
		"  none      no module loaded: every call is -ENOSYS\n"
		"  p1, p2    farfetch_p1 / farfetch_p2 loaded: system call 505\n"
		"  p3        farfetch_p3 loaded, /dev/farfetch made (mknod -m 0666)\n"
		"  --unloaded  with p3: only the ENXIO check, after rmmod farfetch_p3\n"
		"  --case NAME run only that case\n"
		"  --skip NAME leave that case out (repeatable)\n"
		"  --list      print the names of the cases that would run, run none\n"
		"Output: TAP, then \"N passed, N failed\". Run as root.\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *name = NULL, *only = NULL;
	int passed = 0, failed = 0, unloaded = 0, list = 0, n = 0, planned = 0, result;
	const struct test_case *c;
	unsigned long top;
	unsigned int i;
	char why[sizeof(failure) + 128];

	for (i = 1; i < (unsigned int)argc; i++) {
		if (!strcmp(argv[i], "--module") && i + 1 < (unsigned int)argc)
			name = argv[++i];
		else if (!strcmp(argv[i], "--case") && i + 1 < (unsigned int)argc)
			only = argv[++i];
		else if (!strcmp(argv[i], "--skip") && i + 1 < (unsigned int)argc &&
			 nr_skips < MAX_SKIPS)
			skips[nr_skips++] = argv[++i];
		else if (!strcmp(argv[i], "--list"))
			list = 1;
		else if (!strcmp(argv[i], "--unloaded"))
			unloaded = 1;
		else
			return usage();
	}
	if (!name)
		return usage();
	module = !strcmp(name, "none") ? M_NONE : !strcmp(name, "p1") ? M_P1 :
		 !strcmp(name, "p2") ? M_P2 : !strcmp(name, "p3") ? M_P3 : 0;
	if (!module || (unloaded && module != M_P3))
		return usage();
	if (unloaded)
		module = M_P3_UNLOADED;
	if (geteuid() != 0) {
		fprintf(stderr, "farfetch_tests: run as root\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; (c = nth_case(i)); i++)
		planned += selected(c, only);
	if (!planned) {
		fprintf(stderr, "farfetch_tests: no case %s for --module %s\n", only ? only : "",
			name);
		return 2;
	}
	if (list) {
		for (i = 0; (c = nth_case(i)); i++)
			if (selected(c, only))
				printf("%s\n", c->name);
		return 0;
	}
	printf("1..%d\n", planned);
	top = task_size();
	printf("# farfetch_tests --module %s%s: pid %d, TASK_SIZE_OF 0x%lx (%s paging)\n", name,
	       unloaded ? " --unloaded" : "", (int)getpid(), top,
	       top == (1UL << 56) - PAGE ? "5-level" : top == (1UL << 47) - PAGE ? "4-level" :
									       "unknown");
	for (i = 0; (c = nth_case(i)); i++) {
		if (!selected(c, only))
			continue;
		result = run_case(c, why, sizeof(why));
		if (result >= 0) {
			/* A skipped case is "ok" in TAP, with its reason. */
			printf("ok %d - %s%s%s\n", ++n, c->name, result ? " " : "", result ? why : "");
			passed++;
		} else {
			printf("not ok %d - %s # %s\n", ++n, c->name, why);
			failed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
