// SPDX-License-Identifier: GPL-2.0
/*
 * farfetch_fuzz --part 1|2|3 [--calls N] [--seed S] [--stress SECONDS]
 *               [--leak-margin PAGES] [--verbose]
 *
 * Loads farfetch_pN from /lib/modules/$(uname -r)/extra, runs N random
 * calls (default 100000) or the stress run, unloads the module and prints
 * the tallies, then one line "json: {...}" with the same numbers. Exit 0
 * only if the run passed (see fuzz.h); 1 if it failed; 2 on a setup error.
 */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int verbose;

static void usage(void)
{
	fprintf(stderr, "usage: farfetch_fuzz --part 1|2|3 [--calls N] [--seed S] "
		"[--stress SECONDS] [--leak-margin PAGES] [--verbose]\n");
	exit(2);
}

static void print_errnos(FILE *out, bool json)
{
	bool first = true;
	int e;

	for (e = 0; e < 256; e++) {
		if (!tally->errnos[e])
			continue;
		if (json)
			fprintf(out, "%s\"%s\":%lu", first ? "" : ",", errno_name(e), tally->errnos[e]);
		else
			fprintf(out, "errno %s %lu\n", errno_name(e), tally->errnos[e]);
		first = false;
	}
}

/* The calls, in the worker process: 0, or 2 if it could not set up. */
static int work(struct part *p, unsigned long calls, unsigned int seconds, uint64_t seed)
{
	pid_t target;

	setup_memory();
	pick_init();
	if (p->num == 3) {
		p->dev_fd[0] = open(p->dev_path, O_RDWR | O_CLOEXEC);
		p->dev_fd[1] = open(p->dev_path, O_RDWR | O_CLOEXEC);
		if (p->dev_fd[0] < 0 || p->dev_fd[1] < 0) {
			perror("farfetch_fuzz: open the farfetch device");
			return 2;
		}
	}
	if (seconds) {
		stress(p, seconds, seed);
	} else {
		target = spawn_target(seed * 31 + 1);
		if (p->num == 3)
			fuzz_device(p, calls, seed, &target);
		else
			fuzz_syscall(p, calls, seed, &target);
		stop_target(target);
	}
	if (p->num == 3) {
		close(p->dev_fd[0]);
		close(p->dev_fd[1]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "part", required_argument, NULL, 'p' },
		{ "calls", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "stress", required_argument, NULL, 't' },
		{ "leak-margin", required_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	static char module[16];
	struct part p = { .dev_fd = { -1, -1 } };
	unsigned long calls = 100000, splats;
	long leak_margin = 512, free_before, free_after, free_now, refcnt, loaded, unloaded;
	unsigned int seconds = 0;
	uint64_t seed = (uint64_t)time(NULL);
	struct utsname u;
	int c, kmsg, settles, status = 0;
	pid_t worker;
	bool pass;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': p.num = atoi(optarg); break;
		case 'n': calls = strtoul(optarg, NULL, 0); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 't': seconds = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'l': leak_margin = strtol(optarg, NULL, 0); break;
		case 'v': verbose = 1; break;
		default: usage();
		}
	}
	if (p.num < 1 || p.num > 3 || optind != argc)
		usage();
	snprintf(module, sizeof(module), "farfetch_p%d", p.num);
	p.module = module;
	setvbuf(stdout, NULL, _IOLBF, 0);
	uname(&u);
	printf("farfetch_fuzz: part %d, %s %lu, seed %llu, kernel %s\n", p.num,
	       seconds ? "stress seconds" : "calls", seconds ? seconds : calls,
	       (unsigned long long)seed, u.release);

	kmsg = kmsg_open();
	tally = mmap(NULL, sizeof(*tally), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tally == MAP_FAILED || shared == MAP_FAILED) {
		perror("farfetch_fuzz: mmap");
		return 2;
	}
	free_before = free_pages_settled();
	loaded = module_load(module);
	if (loaded) {
		fprintf(stderr, "farfetch_fuzz: loading %s: %s\n", module, strerror((int)-loaded));
		return 2;
	}
	p.module_text = module_text(module);
	if (p.num == 3 && !(p.dev_path = device_node())) {
		fprintf(stderr, "farfetch_fuzz: no farfetch device in /proc/devices\n");
		return 2;
	}
	/*
	 * The calls run in a child: when it and its target have exited, every
	 * page they faulted in is free again, and what is still missing from
	 * the free pages was kept by the kernel.
	 */
	fflush(stdout);
	worker = fork();
	if (worker == 0)
		_exit(work(&p, calls, seconds, seed));
	if (worker < 0 || waitpid(worker, &status, 0) != worker || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "farfetch_fuzz: the calls' process failed (status %#x)\n", status);
		tally->violations++;
	}
	refcnt = module_refcount(module);
	unloaded = module_unload(module);
	if (p.dev_path)
		unlink(p.dev_path);
	free_after = free_pages_settled();
	/*
	 * Pages still on their way back (a process of the run not yet fully
	 * gone, deferred frees) return within seconds; a leak stays missing.
	 */
	for (settles = 1; free_before - free_after > leak_margin && settles < 6; settles++) {
		sleep(1);
		free_now = free_pages_settled();
		if (free_now > free_after)
			free_after = free_now;
	}
	splats = kmsg_splats(kmsg);

	printf("calls: %lu\nreturned >= 0: %lu (%lu bytes)\n", tally->calls, tally->ok, tally->bytes);
	print_errnos(stdout, false);
	printf("violations: %lu\nsplats: %lu\nrefcount before rmmod: %ld\nrmmod: %ld\n",
	       tally->violations, splats, refcnt, unloaded);
	printf("target: %lu address-space changes, %lu forks, %lu replaced\n",
	       atomic_load(&shared->ops), atomic_load(&shared->forks), tally->restarts);
	printf("free pages: %ld before, %ld after (%ld fewer, margin %ld; %d settle%s)\n",
	       free_before, free_after, free_before - free_after, leak_margin, settles,
	       settles > 1 ? "s" : "");
	pass = tally->violations == 0 && splats == 0 && refcnt == 0 && unloaded == 0 &&
	       free_before - free_after <= leak_margin && tally->calls > 0;
	printf("json: {\"part\":%d,\"kernel\":\"%s\",\"seed\":%llu,\"mode\":\"%s\",\"seconds\":%u,"
	       "\"calls\":%lu,\"ok\":%lu,\"bytes\":%lu,\"errnos\":{", p.num, u.release,
	       (unsigned long long)seed, seconds ? "stress" : "fuzz", seconds, tally->calls,
	       tally->ok, tally->bytes);
	print_errnos(stdout, true);
	printf("},\"violations\":%lu,\"splats\":%lu,\"refcount\":%ld,\"rmmod\":%ld,"
	       "\"freePagesBefore\":%ld,\"freePagesAfter\":%ld,\"leakMargin\":%ld,\"settles\":%d,"
	       "\"targetRestarts\":%lu,\"targetOps\":%lu,\"targetForks\":%lu,\"pageWalks\":%lu,"
	       "\"pass\":%s}\n", tally->violations, splats, refcnt, unloaded, free_before,
	       free_after, leak_margin, settles, tally->restarts, atomic_load(&shared->ops),
	       atomic_load(&shared->forks), tally->walks, pass ? "true" : "false");
	printf("result: %s\n", pass ? "pass" : "FAIL");
	return pass ? 0 : 1;
}
