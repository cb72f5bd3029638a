// SPDX-License-Identifier: GPL-2.0
/*
 * Cases: memory beyond plain anonymous pages - shared and evicted file
 * pages, the zero page, PROT_NONE, special mappings, kernel addresses.
 */
#include "harness.h"

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

/*
 * The scratch file mapped shared and written by a target, so that Part 1
 * finds a present, writable pte: the file in @fd, the mapping (the same
 * address in the target) in @p.
 */
static int shared_file_target(int *fd, char **p, struct target *t)
{
	*fd = scratch_file();
	if (*fd < 0)
		return -1;
	*p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	REQUIRE(*p != MAP_FAILED);
	*t = spawn(write_secret, *p);
	REQUIRE(t->pid > 0);
	return 0;
}

static int shared_file_write_reaches_the_disk(void)
{
	char *p, seen[sizeof(SECRET)] = "";
	struct target t;
	int fd;

	if (shared_file_target(&fd, &p, &t))
		return -1;
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

/*
 * On 6.12 the pte a FAR_WRITE may use is writable only after a write fault
 * that dirtied the page, so a module that never marks it dirty loses the
 * write only when writeback cleans the page between its walk (or GUP) and
 * its copy: the case above cannot see that. This one watches the marking.
 */
static int far_write_marks_the_page_dirty(void)
{
	struct dirty_count dirty;
	struct target t;
	int fd;
	long got;
	char *p;

	if (shared_file_target(&fd, &p, &t))
		return -1;
	if (dirty_watch_start())
		return -1;
	got = far(FAR_WRITE, "Howdy", t.pid, (unsigned long)p, 5);
	if (dirty_watch_stop(&dirty))
		return -1;
	reap(&t);
	munmap(p, PAGE);
	close(fd);
	EXPECT_EQ(got, 5);
	if (!dirty.outside_fault)
		return fail("expected the page written to be marked dirty (set_page_dirty_lock()), got no call of folio_mark_dirty() outside a page fault (%d inside): writeback may never write the change to the file",
			    dirty.in_fault);
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
	EXPECT_ERR(far_high(FAR_READ, buf, getpid(), text, 8), EFAULT);
	EXPECT_ERR(far_high(FAR_WRITE, buf, getpid(), text, 8), EFAULT);
	return 0;
}

const struct test_case memory_cases[] = {
	CASE(shared_file_write_reaches_the_disk, M_ANY),
	CASE(far_write_marks_the_page_dirty, M_ANY),
	CASE(page_evicted_by_madv_pageout, M_ANY),
	CASE(p1_reads_the_zero_page, M_P1),
	CASE(prot_none_page_is_read_as_ptrace_does, M_ANY),
	CASE(vvar_is_efault, M_ANY),
	CASE(kernel_text_address_is_efault, M_ANY),
};

const size_t nr_memory_cases = sizeof(memory_cases) / sizeof(memory_cases[0]);
