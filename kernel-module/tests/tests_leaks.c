// SPDX-License-Identifier: GPL-2.0
/*
 * Cases: references the module takes and must drop. A page the module
 * keeps a reference on (no put_page()) is not freed when its process
 * exits: it stays an anonymous page that no one maps. An mm it keeps (no
 * mmput()) is never torn down: every page of the process stays mapped in
 * it. The target touches LEAK_READ pages that farfetch reads and LEAK_IDLE
 * pages it never reads, and exits; the frames it had (from its pagemap)
 * are then looked up in /proc/kpageflags and /proc/kpagecount. A frame
 * that was freed has neither flag nor mapping (or belongs to someone else
 * and is mapped by them: a few such frames are within the margin).
 */
#include "harness.h"

#define LEAK_READ 256	/* pages read through farfetch, one call per page */
#define LEAK_IDLE 768	/* pages only the target touches */
#define LEAK_PAGES (LEAK_READ + LEAK_IDLE)
#define PM_PRESENT (1ULL << 63)
#define PM_PFN ((1ULL << 55) - 1)
#define KPF_ANON 12

static void touch_leak_pages(void *p)
{
	memset(p, 'L', LEAK_PAGES * PAGE);
}

struct frames {
	unsigned long long pfn[LEAK_PAGES];
	int read_kept;		/* read pages still anonymous, mapped by no one */
	int idle_mapped;	/* idle pages still anonymous and mapped */
};

/* Reads 8 bytes at @index of a /proc table (pagemap, kpageflags, kpagecount). */
static int table_entry(int fd, unsigned long long index, unsigned long long *value)
{
	return pread(fd, value, 8, (off_t)(index * 8)) == 8 ? 0 : -1;
}

/* The target's frames, then what became of them after it exited; -1 if the case failed. */
static int frames_after_exit(struct frames *f)
{
	char *p = mmap(NULL, LEAK_PAGES * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char path[64], buf[8];
	unsigned long long flags, count;
	int pm, kflags, kcount, i;
	struct target t;

	REQUIRE(p != MAP_FAILED);
	/* 4 KiB pages: Part 1 does not read huge ones. */
	REQUIRE(madvise(p, LEAK_PAGES * PAGE, MADV_NOHUGEPAGE) == 0);
	t = spawn(touch_leak_pages, p);
	REQUIRE(t.pid > 0);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)t.pid);
	pm = open(path, O_RDONLY);
	REQUIRE(pm >= 0);
	for (i = 0; i < LEAK_PAGES; i++) {
		unsigned long long e;

		REQUIRE(table_entry(pm, (unsigned long)p / PAGE + i, &e) == 0 && (e & PM_PRESENT));
		f->pfn[i] = e & PM_PFN;
	}
	close(pm);
	for (i = 0; i < LEAK_READ; i++)
		if (expect_eq(far(FAR_READ, buf, t.pid, (unsigned long)p + i * PAGE, 8), 8,
			      "far(FAR_READ, buf, target, page, 8)", __LINE__)) {
			reap(&t);
			return -1;
		}
	reap(&t);
	munmap(p, LEAK_PAGES * PAGE);
	kflags = open("/proc/kpageflags", O_RDONLY);
	kcount = open("/proc/kpagecount", O_RDONLY);
	REQUIRE(kflags >= 0 && kcount >= 0);
	f->read_kept = f->idle_mapped = 0;
	for (i = 0; i < LEAK_PAGES; i++) {
		REQUIRE(table_entry(kflags, f->pfn[i], &flags) == 0);
		REQUIRE(table_entry(kcount, f->pfn[i], &count) == 0);
		if (!(flags & (1ULL << KPF_ANON)))
			continue;
		if (i < LEAK_READ && count == 0)
			f->read_kept++;
		if (i >= LEAK_READ && count > 0)
			f->idle_mapped++;
	}
	close(kflags);
	close(kcount);
	return 0;
}

static int far_drops_page_references(void)
{
	static struct frames f;

	if (frames_after_exit(&f))
		return -1;
	if (f.idle_mapped >= LEAK_IDLE / 2)
		SKIP("the target's whole address space was kept (%d of the %d pages it never lent still mapped): see far_drops_mm_reference",
		     f.idle_mapped, LEAK_IDLE);
	if (f.read_kept >= LEAK_READ / 2)
		return fail("expected the %d pages read to be freed when the target exited, got %d still allocated, mapped by no one: a page reference leaked",
			    LEAK_READ, f.read_kept);
	return 0;
}

static int far_drops_mm_reference(void)
{
	static struct frames f;

	if (frames_after_exit(&f))
		return -1;
	if (f.idle_mapped >= LEAK_IDLE / 2)
		return fail("expected the target's pages to be freed when it exited, got %d of the %d pages farfetch never read still mapped: its address space was never torn down, a reference on its mm leaked",
			    f.idle_mapped, LEAK_IDLE);
	return 0;
}

const struct test_case leak_cases[] = {
	CASE(far_drops_page_references, M_ANY),
	CASE(far_drops_mm_reference, M_ANY),
};

const size_t nr_leak_cases = sizeof(leak_cases) / sizeof(leak_cases[0]);
