// SPDX-License-Identifier: GPL-2.0
/*
 * Cases: transparent huge pages - Part 1 stops at a huge pmd, GUP copies
 * inside and across them, lab-ptwalk reports them as pmd leaves.
 */
#include "harness.h"

#include <stdint.h>

#define HUGE (2UL << 20)	/* a pmd-sized transparent huge page */
#define THP_ENABLED "/sys/kernel/mm/transparent_hugepage/enabled"

/* ---- transparent huge pages ---- */

/* The byte at offset @i of the huge test region. */
static char pattern(size_t i)
{
	return (char)('A' + (i / 4093 + i) % 26);
}

/*
 * Whether the 2 MiB at @p are one huge page: the VMA's AnonHugePages in
 * /proc/self/smaps (only that region lies in its VMA).
 */
static long anon_huge_kb(const void *p)
{
	unsigned long start, end, addr = (unsigned long)p;
	char line[256];
	long kb = -1;
	int in = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2)
			in = start <= addr && addr < end;
		else if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/*
 * @n huge pages of our own, MADV_HUGEPAGE and written: NULL (with the
 * case failed or skipped) if the kernel has no THP or gave small pages.
 */
static char *huge_pages(size_t n, int *skipped)
{
	char *raw, *p;
	size_t i;

	*skipped = 0;
	if (access(THP_ENABLED, F_OK)) {
		*skipped = 1;
		skip("the kernel has no transparent huge pages (%s)", THP_ENABLED);
		return NULL;
	}
	raw = mmap(NULL, (n + 1) * HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	if (raw == MAP_FAILED)
		return fail("setup failed: mmap: %s", strerror(errno)), NULL;
	p = (char *)(((unsigned long)raw + HUGE - 1) & ~(HUGE - 1));
	/* Only the aligned part, so it is a VMA of its own. */
	if (p != raw)
		munmap(raw, p - raw);
	munmap(p + n * HUGE, raw + HUGE - p);
	if (madvise(p, n * HUGE, MADV_HUGEPAGE))
		return fail("setup failed: MADV_HUGEPAGE: %s", strerror(errno)), NULL;
	for (i = 0; i < n * HUGE; i++)
		p[i] = pattern(i);
	if (anon_huge_kb(p) != (long)(n * HUGE >> 10))
		return fail("setup failed: expected %zu kB of AnonHugePages, got %ld",
			    n * HUGE >> 10, anon_huge_kb(p)), NULL;
	return p;
}

static int p1_huge_page_is_efault(void)
{
	int skipped;
	char *p = huge_pages(1, &skipped), buf[16];

	if (!p)
		return skipped ? 0 : -1;
	/* A huge (leaf) entry at the pmd ends Part 1's walk. */
	EXPECT_ERR(sys_far(FAR_READ, buf, getpid(), (unsigned long)p + 0x12345, 16), EFAULT);
	EXPECT_ERR(sys_far(FAR_WRITE, "HUGE", getpid(), (unsigned long)p + 0x12345, 4), EFAULT);
	EXPECT_EQ(p[0x12345], pattern(0x12345));
	return 0;
}

static int gup_copies_inside_and_across_huge_pages(void)
{
	static char buf[3 * PAGE], want[3 * PAGE];
	int skipped;
	char *p = huge_pages(2, &skipped);
	struct target t;
	size_t i;

	if (!p)
		return skipped ? 0 : -1;
	t = spawn(NULL, NULL);	/* its huge pmds are copy-on-write copies of ours */
	REQUIRE(t.pid > 0);
	EXPECT_EQ(far(FAR_READ, buf, t.pid, (unsigned long)p + 0x12345, 16), 16);
	EXPECT_MEM(buf, p + 0x12345, 16);
	/* Three small pages' worth across the boundary between the huge pages. */
	EXPECT_EQ(far(FAR_READ, buf, t.pid, (unsigned long)p + HUGE - PAGE - 100, sizeof(buf)),
		  sizeof(buf));
	for (i = 0; i < sizeof(want); i++)
		want[i] = pattern(HUGE - PAGE - 100 + i);
	EXPECT_MEM(buf, want, sizeof(want));
	EXPECT_EQ(far(FAR_WRITE, "HUGE", t.pid, (unsigned long)p + HUGE + 0x100000, 4), 4);
	EXPECT_EQ(peek(t.pid, (unsigned long)p + HUGE + 0x100000 - 2, buf, 8), 8);
	reap(&t);
	EXPECT_MEM(buf + 2, "HUGE", 4);
	EXPECT_EQ(buf[0], pattern(HUGE + 0x100000 - 2));
	EXPECT_EQ(buf[6], pattern(HUGE + 0x100000 + 4));
	/* Ours is untouched: the write broke copy-on-write in the target only. */
	EXPECT_EQ(p[HUGE + 0x100000], pattern(HUGE + 0x100000));
	return 0;
}

/* lab-ptwalk's report for our own @addr, or "" (the case failed). */
static const char *ptwalk(const void *addr, char *out, size_t size)
{
	char cmd[96];
	size_t n = 0;
	FILE *f;

	out[0] = '\0';
	snprintf(cmd, sizeof(cmd), "/usr/local/bin/lab-ptwalk %d %p", (int)getpid(), addr);
	f = popen(cmd, "r");
	if (!f)
		return fail("setup failed: popen(%s): %s", cmd, strerror(errno)), out;
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	if (pclose(f) != 0)
		fail("setup failed: %s: exit status not 0: %s", cmd, out);
	return out;
}

static int lab_ptwalk_shows_a_huge_page_as_a_pmd_leaf(void)
{
	int skipped;
	char *p = huge_pages(1, &skipped), json[4096], want[64];
	const char *pmd;
	uint64_t pm;
	int fd;

	if (!p)
		return skipped ? 0 : -1;
	ptwalk(p + 0x12345, json, sizeof(json));
	pmd = strstr(json, "{\"level\":\"pmd\"");
	if (!pmd)
		return fail("expected a pmd level in lab-ptwalk's report, got %s", json);
	if (!strstr(pmd, "\"PS\":true"))
		return fail("expected PS set at the pmd, got %s", json);
	if (strstr(json, "\"level\":\"pte\""))
		return fail("expected the walk to end at the pmd, got %s", json);
	if (!strstr(json, "\"pageSize\":2097152"))
		return fail("expected a 2 MiB pageSize, got %s", json);
	/* The physical address is pagemap's frame (bits 0-54) plus the offset. */
	fd = open("/proc/self/pagemap", O_RDONLY);
	REQUIRE(fd >= 0);
	REQUIRE(pread(fd, &pm, 8, ((unsigned long)p + 0x12345) / PAGE * 8) == 8);
	close(fd);
	snprintf(want, sizeof(want), "\"phys\":\"0x%llx\"",
		 (unsigned long long)(((pm & ((1ULL << 55) - 1)) << 12) + 0x345));
	if (!strstr(json, want))
		return fail("expected %s, got %s", want, json);
	return 0;
}

const struct test_case thp_cases[] = {
	CASE(p1_huge_page_is_efault, M_P1),
	CASE(gup_copies_inside_and_across_huge_pages, M_GUP),
	CASE(lab_ptwalk_shows_a_huge_page_as_a_pmd_leaf, M_NONE),
};

const size_t nr_thp_cases = sizeof(thp_cases) / sizeof(thp_cases[0]);
