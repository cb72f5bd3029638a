// SPDX-License-Identifier: GPL-2.0
/*
 * Cases: the kinds of memory a target can have beyond plain anonymous
 * pages - transparent huge pages, shared and evicted file pages, the zero
 * page, PROT_NONE, special mappings, kernel addresses - and long ranges.
 */
#include "harness.h"

#include <pthread.h>
#include <sched.h>
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

/* ---- file pages ---- */

/* A one-page file on the root file system (ext4) holding SECRET, unlinked. */
static int scratch_file(void)
{
	char path[] = "/var/tmp/farfetch_tests.XXXXXX";
	char page[PAGE] = SECRET;
	int fd = mkstemp(path);

	if (fd < 0)
		return fail("setup failed: mkstemp(%s): %s", path, strerror(errno)), -1;
	unlink(path);
	if (pwrite(fd, page, PAGE, 0) != PAGE || fsync(fd))
		return fail("setup failed: writing %s: %s", path, strerror(errno)), -1;
	return fd;
}

static void drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);

	sync();
	if (fd >= 0) {
		if (write(fd, "3", 1) != 1)
			fail("setup failed: drop_caches: %s", strerror(errno));
		close(fd);
	}
}

static int shared_file_write_reaches_the_disk(void)
{
	int fd = scratch_file();
	char *p, seen[sizeof(SECRET)] = "";
	struct target t;

	if (fd < 0)
		return -1;
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	REQUIRE(p != MAP_FAILED);
	/* Written by the target, so that Part 1 finds a present, writable pte. */
	t = spawn(write_secret, p);
	REQUIRE(t.pid > 0);
	EXPECT_EQ(far(FAR_WRITE, "Howdy", t.pid, (unsigned long)p, 5), 5);
	reap(&t);
	munmap(p, PAGE);
	drop_caches();
	/* Read back from the disk: the page was marked dirty and written. */
	EXPECT_EQ(pread(fd, seen, sizeof(seen), 0), sizeof(seen));
	EXPECT_MEM(seen, "Howdyhis is private!", sizeof(SECRET));
	close(fd);
	return 0;
}

static int page_evicted_by_madv_pageout(void)
{
	/*
	 * The lab's guest has no swap, so MADV_PAGEOUT can only evict file
	 * pages (anonymous ones stay): a clean page of a file, mapped here only.
	 */
	int fd = scratch_file();
	char *p, buf[sizeof(SECRET)] = "";
	unsigned char in_core;

	if (fd < 0)
		return -1;
	p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	REQUIRE(p != MAP_FAILED);
	EXPECT_EQ(p[0], 'H');
	REQUIRE(madvise(p, PAGE, MADV_PAGEOUT) == 0);
	REQUIRE(mincore(p, PAGE, &in_core) == 0);
	REQUIRE((in_core & 1) == 0);
	if (module == M_P1) {
		EXPECT_ERR(sys_far(FAR_READ, buf, getpid(), (unsigned long)p, 8), EFAULT);
	} else {
		/* GUP reads it back in from the file. */
		EXPECT_EQ(far(FAR_READ, buf, getpid(), (unsigned long)p, sizeof(SECRET)),
			  sizeof(SECRET));
		EXPECT_MEM(buf, SECRET, sizeof(SECRET));
	}
	munmap(p, PAGE);
	close(fd);
	return 0;
}

/* ---- pages Part 1 finds by hand ---- */

static int p1_reads_the_zero_page(void)
{
	static const char zeros[64];
	char *p = map_pages(1), buf[64];

	REQUIRE(p);
	/* Read, never written: the pte maps the shared zero page. */
	EXPECT_EQ(*(volatile char *)(p + 100), 0);
	memset(buf, 'x', sizeof(buf));
	EXPECT_EQ(sys_far(FAR_READ, buf, getpid(), (unsigned long)p + 64, sizeof(buf)),
		  sizeof(buf));
	EXPECT_MEM(buf, zeros, sizeof(buf));
	/* It is never writable: Part 1 does not break copy-on-write. */
	EXPECT_ERR(sys_far(FAR_WRITE, "Z", getpid(), (unsigned long)p + 64, 1), EFAULT);
	EXPECT_EQ(p[64], 0);
	return 0;
}

static int prot_none_page_is_read_as_ptrace_does(void)
{
	char *p = map_pages(1), buf[sizeof(SECRET)] = "";

	REQUIRE(p);
	strcpy(p, SECRET);
	REQUIRE(mprotect(p, PAGE, PROT_NONE) == 0);
	/* The page is still there, only inaccessible to its owner. */
	EXPECT_EQ(far(FAR_READ, buf, getpid(), (unsigned long)p, sizeof(SECRET)),
		  sizeof(SECRET));
	EXPECT_MEM(buf, SECRET, sizeof(SECRET));
	if (module == M_P1) {
		/* Not writable, and Part 1 writes only writable ptes. */
		EXPECT_ERR(sys_far(FAR_WRITE, "Yo!", getpid(), (unsigned long)p, 3), EFAULT);
	} else {
		/* As PTRACE_POKEDATA: FOLL_FORCE writes a private mapping anyway. */
		EXPECT_EQ(far(FAR_WRITE, "Yo!", getpid(), (unsigned long)p, 3), 3);
	}
	REQUIRE(mprotect(p, PAGE, PROT_READ) == 0);
	EXPECT_MEM(p, module == M_P1 ? SECRET : "Yo! this is private!", sizeof(SECRET));
	return 0;
}

/* The start of [vvar] in our own maps, or 0. */
static unsigned long vvar_start(void)
{
	unsigned long start = 0, s, e;
	char line[256];
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[vvar]") && sscanf(line, "%lx-%lx", &s, &e) == 2) {
			start = s;
			break;
		}
	fclose(f);
	return start;
}

static int vvar_is_efault(void)
{
	unsigned long vvar = vvar_start();
	char buf[8];

	REQUIRE(vvar);
	/* Mapped now (readable by its owner), but by pfn: no struct page to copy. */
	(void)*(volatile char *)vvar;
	EXPECT_ERR(far(FAR_READ, buf, getpid(), vvar, 8), EFAULT);
	EXPECT_ERR(far(FAR_WRITE, buf, getpid(), vvar, 8), EFAULT);
	return 0;
}

static int kernel_text_address_is_efault(void)
{
	unsigned long text = 0;
	char name[64], path[128], buf[8];
	FILE *f;

	if (module_under_test(name, sizeof(name)))
		return -1;
	/* The module's own code: 4 KiB-mapped kernel memory, not user space. */
	snprintf(path, sizeof(path), "/sys/module/%s/sections/.text", name);
	f = fopen(path, "r");
	REQUIRE(f);
	REQUIRE(fscanf(f, "%lx", &text) == 1);
	fclose(f);
	REQUIRE(text >= 1UL << 63);
	EXPECT_ERR(far(FAR_READ, buf, getpid(), text, 8), EFAULT);
	EXPECT_ERR(far(FAR_WRITE, buf, getpid(), text, 8), EFAULT);
	return 0;
}

/* ---- callers and long ranges ---- */

struct ids {
	uid_t r, e, s;
};

static long read_with_ids(void *arg)
{
	const struct ids *ids = arg;
	char buf[8];

	if (setresgid(STUDENT, STUDENT, STUDENT) || setresuid(ids->r, ids->e, ids->s))
		return -255;
	return sys_far(FAR_READ, buf, getppid(), (unsigned long)data_page, 8);
}

/* Like as_student(), for any ids: what @fn returned. */
static long with_ids(struct ids ids)
{
	long ret = -255;
	int p[2];
	pid_t child;

	REQUIRE(pipe(p) == 0);
	child = fork();
	if (child == 0) {
		ret = read_with_ids(&ids);
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

static int effective_uid_decides_not_real_uid(void)
{
	REQUIRE(data_page[0] == 'H');	/* present in the target (us), for Part 1 */
	EXPECT_ERR(with_ids((struct ids){ 0, STUDENT, 0 }), EPERM);
	EXPECT_EQ(with_ids((struct ids){ STUDENT, 0, STUDENT }), 8);
	return 0;
}

static int gup_write_source_gone_midway_writes_the_first_page_only(void)
{
	char *src = map_pages(2), *p = map_pages(2), seen[2 * PAGE];
	struct target t;

	REQUIRE(src && p);
	memset(src, 's', PAGE);
	munmap(src + PAGE, PAGE);
	t = spawn(fill_two_pages, p);	/* the target's own 'a's */
	REQUIRE(t.pid > 0);
	EXPECT_EQ(far(FAR_WRITE, src, t.pid, (unsigned long)p, 2 * PAGE), PAGE);
	EXPECT_EQ(peek(t.pid, (unsigned long)p, seen, 2 * PAGE), 2 * PAGE);
	reap(&t);
	EXPECT_MEM(seen, src, PAGE);
	/* Not zero-filled: the second page is as the target left it. */
	memset(src, 'a', PAGE);
	EXPECT_MEM(seen + PAGE, src, PAGE);
	return 0;
}

static int gup_copies_many_mib_across_2_mib_and_1_gib_boundaries(void)
{
	/* 6 MiB around a 1 GiB boundary well inside user space (64 GiB). */
	const unsigned long gib = 1UL << 30, len = 6UL << 20;
	char *p = mmap((void *)(64 * gib - len / 2), len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned long i;
	struct target t;

	REQUIRE(p != MAP_FAILED && buf != MAP_FAILED);
	for (i = 0; i < len; i += sizeof(unsigned long))
		*(unsigned long *)(p + i) = (unsigned long)p + i;
	t = spawn(NULL, NULL);
	REQUIRE(t.pid > 0);
	EXPECT_EQ(far(FAR_READ, buf, t.pid, (unsigned long)p, len), len);
	reap(&t);
	EXPECT_MEM(buf, p, len);
	return 0;
}

static int p2_clamps_len_to_max_rw_count(void)
{
	/*
	 * 2 GiB of address space, as 1024 views of one 2 MiB memfd, read into
	 * itself: only MAX_RW_COUNT (INT_MAX rounded down to a page) of it.
	 */
	const unsigned long view = 2UL << 20, views = 1024;
	const unsigned long max_rw_count = 0x7ffff000UL;
	char *p = mmap(NULL, views * view, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = memfd_create("farfetch_tests", MFD_CLOEXEC);
	unsigned long i;

	REQUIRE(p != MAP_FAILED && fd >= 0);
	REQUIRE(ftruncate(fd, view) == 0);
	for (i = 0; i < views; i++)
		REQUIRE(mmap(p + i * view, view, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			     fd, 0) == p + i * view);
	memset(p, 'm', view);
	EXPECT_EQ(sys_far(FAR_READ, p, getpid(), (unsigned long)p, SIZE_MAX), max_rw_count);
	EXPECT_EQ(p[views * view - 1], 'm');
	munmap(p, views * view);
	close(fd);
	return 0;
}

/* ---- threads ---- */

static void *wait_for_cancel(void *arg)
{
	pid_t *tid = arg;

	*tid = gettid();
	pause();
	return NULL;
}

static int thread_id_as_pid_reads_the_process(void)
{
	char buf[sizeof(SECRET)] = "";
	pthread_t thread;
	volatile pid_t tid = 0;

	REQUIRE(data_page[0] == 'H');	/* present, for Part 1 */
	REQUIRE(pthread_create(&thread, NULL, wait_for_cancel, (void *)&tid) == 0);
	while (!tid)
		sched_yield();
	/* A thread's id names the thread, which has the process's mm. */
	EXPECT_EQ(far(FAR_READ, buf, tid, (unsigned long)data_page, sizeof(SECRET)),
		  sizeof(SECRET));
	EXPECT_MEM(buf, SECRET, sizeof(SECRET));
	pthread_cancel(thread);
	pthread_join(thread, NULL);
	return 0;
}

const struct test_case memory_cases[] = {
	CASE(p1_huge_page_is_efault, M_P1),
	CASE(gup_copies_inside_and_across_huge_pages, M_GUP),
	CASE(lab_ptwalk_shows_a_huge_page_as_a_pmd_leaf, M_NONE),
	CASE(shared_file_write_reaches_the_disk, M_ANY),
	CASE(page_evicted_by_madv_pageout, M_ANY),
	CASE(p1_reads_the_zero_page, M_P1),
	CASE(prot_none_page_is_read_as_ptrace_does, M_ANY),
	CASE(vvar_is_efault, M_ANY),
	CASE(kernel_text_address_is_efault, M_ANY),
	CASE(effective_uid_decides_not_real_uid, M_SYSCALL),
	CASE(gup_write_source_gone_midway_writes_the_first_page_only, M_GUP),
	CASE(gup_copies_many_mib_across_2_mib_and_1_gib_boundaries, M_GUP),
	CASE(p2_clamps_len_to_max_rw_count, M_P2),
	CASE(thread_id_as_pid_reads_the_process, M_ANY),
};

const size_t nr_memory_cases = sizeof(memory_cases) / sizeof(memory_cases[0]);
