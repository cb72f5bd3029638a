// SPDX-License-Identifier: GPL-2.0
/*
 * The in-guest suite's view of what a call does inside the kernel: kprobe
 * events in tracefs, filtered to the calling thread (see harness.h).
 *
 * Used where the effect of a defect is a race too narrow to wait for: a
 * page written without set_page_dirty_lock() is lost only when writeback
 * cleans it between the module's walk (or GUP) and its copy, microseconds
 * under TCG. Whether the page is marked dirty is watched instead.
 *
 * The events go to a trace instance of their own, so that a trace the
 * student set up (its buffer, tracing_on) is neither read nor changed.
 */
#include "harness.h"
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define TRACEFS "/sys/kernel/tracing"
#define GROUP "farfetch_tests"
#define INSTANCE TRACEFS "/instances/" GROUP
#define EVENTS INSTANCE "/events/" GROUP

/*
 * folio_mark_dirty() is where set_page_dirty_lock(), set_page_dirty() and
 * unpin_user_pages_dirty_lock() all end; a write fault reaches it too, from
 * inside handle_mm_fault(), which is why the fault's entry and return are
 * probed as well.
 */
static const char *const probes[] = {
	"p:" GROUP "/dirty folio_mark_dirty",
	"p:" GROUP "/fault handle_mm_fault",
	"r:" GROUP "/fault_done handle_mm_fault",
};
static const char *const names[] = { "dirty", "fault", "fault_done" };
#define NR_PROBES (sizeof(names) / sizeof(names[0]))

static int put(const char *file, const char *text, int flags)
{
	int fd = open(file, O_WRONLY | flags);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Removes what dirty_watch_start() added; quietly, as some of it may not be there. */
void dirty_watch_cleanup(void)
{
	char line[128];
	size_t i;

	if (access(INSTANCE, F_OK))
		return;
	put(EVENTS "/enable", "0", 0);
	rmdir(INSTANCE);
	for (i = 0; i < NR_PROBES; i++) {
		snprintf(line, sizeof(line), "-:" GROUP "/%s", names[i]);
		put(TRACEFS "/kprobe_events", line, O_APPEND);
	}
}

int dirty_watch_start(void)
{
	char file[160], filter[64];
	cpu_set_t one;
	int cpu;
	size_t i;

	if (access(TRACEFS "/kprobe_events", W_OK) &&
	    mount("tracefs", TRACEFS, "tracefs", 0, NULL))
		return fail("setup failed: tracefs at %s: %s", TRACEFS, strerror(errno));
	/*
	 * One CPU, so that the events are in the order they happened (each CPU
	 * has its own buffer and clock).
	 */
	cpu = sched_getcpu();
	if (cpu < 0)
		return fail("setup failed: sched_getcpu: %s", strerror(errno));
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		return fail("setup failed: sched_setaffinity: %s", strerror(errno));
	dirty_watch_cleanup();	/* left by a run killed mid-way */
	snprintf(filter, sizeof(filter), "common_pid == %d", gettid());
	for (i = 0; i < NR_PROBES; i++) {
		if (put(TRACEFS "/kprobe_events", probes[i], O_APPEND)) {
			fail("setup failed: kprobe %s: %s", probes[i], strerror(errno));
			goto remove;
		}
	}
	if (mkdir(INSTANCE, 0700)) {
		fail("setup failed: mkdir %s: %s", INSTANCE, strerror(errno));
		goto remove;
	}
	for (i = 0; i < NR_PROBES; i++) {
		snprintf(file, sizeof(file), EVENTS "/%s/filter", names[i]);
		if (put(file, filter, 0)) {
			fail("setup failed: %s: %s", file, strerror(errno));
			goto remove;
		}
	}
	if (!put(EVENTS "/enable", "1", 0))
		return 0;
	fail("setup failed: enabling the kprobes: %s", strerror(errno));
remove:
	dirty_watch_cleanup();
	return -1;
}

/* Counts the calls of folio_mark_dirty() inside and outside page faults. */
static int count_dirty(FILE *trace, struct dirty_count *count)
{
	char line[512];
	int depth = 0;

	while (fgets(line, sizeof(line), trace)) {
		if (line[0] == '#')
			continue;
		if (strstr(line, " fault_done: "))
			depth--;
		else if (strstr(line, " fault: "))
			depth++;
		else if (strstr(line, " dirty: "))
			depth > 0 ? count->in_fault++ : count->outside_fault++;
		if (depth < 0)
			return fail("setup failed: a page fault returned that never began in the trace");
	}
	return 0;
}

/*
 * A kretprobe that had no free instance is a return missing from the trace.
 * kprobe_profile names each event without its group.
 */
static int probes_missed(void)
{
	FILE *f = fopen(TRACEFS "/kprobe_profile", "r");
	char name[128];
	unsigned long hits, misses, total = 0;
	size_t i;

	if (!f)
		return fail("setup failed: %s: %s", TRACEFS "/kprobe_profile", strerror(errno));
	while (fscanf(f, "%127s %lu %lu", name, &hits, &misses) == 3)
		for (i = 0; i < NR_PROBES; i++)
			if (!strcmp(name, names[i]))
				total += misses;
	fclose(f);
	return total ? fail("setup failed: the kprobes missed %lu events", total) : 0;
}

int dirty_watch_stop(struct dirty_count *count)
{
	FILE *trace;
	int ret;

	memset(count, 0, sizeof(*count));
	if (put(EVENTS "/enable", "0", 0)) {
		ret = fail("setup failed: disabling the kprobes: %s", strerror(errno));
		goto remove;
	}
	trace = fopen(INSTANCE "/trace", "r");
	if (!trace) {
		ret = fail("setup failed: %s: %s", INSTANCE "/trace", strerror(errno));
		goto remove;
	}
	ret = count_dirty(trace, count);
	fclose(trace);
	if (!ret)
		ret = probes_missed();
remove:
	dirty_watch_cleanup();
	return ret;
}
