// SPDX-License-Identifier: GPL-2.0
/* Cases: Part 2 and Part 3 (GUP). */
#include "harness.h"

static int gup_reads_across_pages(void)
{
	char *p = map_pages(4);
	char *want = malloc(3 * PAGE), *buf = malloc(3 * PAGE);
	struct target t;
	size_t i;

	REQUIRE(p && want && buf);
	for (i = 0; i < 3 * PAGE; i++)
		want[i] = (char)(i * 7 + 1);
	memcpy(p + 123, want, 3 * PAGE);
	t = spawn(NULL, NULL);
	REQUIRE(t.pid > 0);
	EXPECT_EQ(far(FAR_READ, buf, t.pid, (unsigned long)p + 123, 3 * PAGE), 3 * PAGE);
	reap(&t);
	EXPECT_MEM(buf, want, 3 * PAGE);
	return 0;
}

static int gup_writes_across_pages(void)
{
	char *p = map_pages(3);
	char *src = malloc(2 * PAGE), *seen = malloc(2 * PAGE + 2);
	struct target t;

	REQUIRE(p && src && seen);
	t = spawn(touch_pages, p);	/* 'x' in the target only */
	REQUIRE(t.pid > 0);
	memset(src, 'W', 2 * PAGE);
	EXPECT_EQ(far(FAR_WRITE, src, t.pid, (unsigned long)p + 1000, 2 * PAGE), 2 * PAGE);
	EXPECT_EQ(peek(t.pid, (unsigned long)p + 999, seen, 2 * PAGE + 2), 2 * PAGE + 2);
	reap(&t);
	EXPECT_EQ(seen[0], 'x');
	EXPECT_MEM(seen + 1, src, 2 * PAGE);
	EXPECT_EQ(seen[2 * PAGE + 1], 'x');
	return 0;
}

static int gup_faults_in_untouched_pages(void)
{
	char *p = map_pages(2);
	static char buf[2 * PAGE], zeros[2 * PAGE];
	struct target t;

	REQUIRE(p);
	t = spawn(NULL, NULL);
	REQUIRE(t.pid > 0);
	memset(buf, 0x55, sizeof(buf));
	EXPECT_EQ(far(FAR_READ, buf, t.pid, (unsigned long)p, sizeof(buf)), sizeof(buf));
	reap(&t);
	EXPECT_MEM(buf, zeros, sizeof(buf));
	return 0;
}

static int gup_writes_untouched_pages(void)
{
	char *p = map_pages(2);
	char seen[8];
	struct target t;

	REQUIRE(p);
	t = spawn(NULL, NULL);
	REQUIRE(t.pid > 0);
	EXPECT_EQ(far(FAR_WRITE, "new page", t.pid, (unsigned long)p + PAGE - 4, 8), 8);
	EXPECT_EQ(peek(t.pid, (unsigned long)p + PAGE - 4, seen, 8), 8);
	reap(&t);
	EXPECT_MEM(seen, "new page", 8);
	return 0;
}

static int gup_writes_a_string_literal(void)
{
	struct target t = spawn(NULL, NULL);
	char seen[sizeof(SECRET)];

	REQUIRE(t.pid > 0);
	EXPECT_EQ(far(FAR_WRITE, "HEY", t.pid, (unsigned long)literal, 3), 3);
	EXPECT_EQ(peek(t.pid, (unsigned long)literal, seen, sizeof(SECRET)), sizeof(SECRET));
	reap(&t);
	EXPECT_MEM(seen, "HEY this is private!", sizeof(SECRET));
	/* The write went into the target's private copy, not the shared file page. */
	EXPECT_MEM(literal, SECRET, sizeof(SECRET));
	return 0;
}

static int gup_writes_a_read_only_private_mapping(void)
{
	char *p = map_pages(1);

	REQUIRE(p);
	strcpy(p, SECRET);
	REQUIRE(mprotect(p, PAGE, PROT_READ) == 0);
	EXPECT_EQ(far(FAR_WRITE, "HEY", getpid(), (unsigned long)p, 3), 3);
	EXPECT_MEM(p, "HEY this is private!", sizeof(SECRET));
	return 0;
}

static int gup_cannot_write_a_read_only_shared_file_mapping(void)
{
	char path[] = "/tmp/farfetch_tests.XXXXXX", seen[sizeof(SECRET)];
	int fd = mkstemp(path);
	char *p;

	REQUIRE(fd >= 0);
	REQUIRE(write(fd, SECRET, sizeof(SECRET)) == sizeof(SECRET));
	close(fd);
	fd = open(path, O_RDONLY);
	unlink(path);
	REQUIRE(fd >= 0);
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	REQUIRE(p != MAP_FAILED);
	/* Not copy-on-write and opened read-only: as ptrace, no write (GUP's check_vma_flags). */
	EXPECT_ERR(far(FAR_WRITE, "HEY", getpid(), (unsigned long)p, 3), EFAULT);
	EXPECT_MEM(p, SECRET, sizeof(SECRET));
	REQUIRE(pread(fd, seen, sizeof(SECRET), 0) == sizeof(SECRET));
	EXPECT_MEM(seen, SECRET, sizeof(SECRET));
	EXPECT_EQ(far(FAR_READ, seen, getpid(), (unsigned long)p, 3), 3);
	return 0;
}

static int gup_breaks_copy_on_write_after_fork(void)
{
	char *p = cow_page();
	struct target t;
	char seen[sizeof(SECRET)];

	REQUIRE(p);
	t = spawn(NULL, NULL);
	REQUIRE(t.pid > 0);
	EXPECT_EQ(far(FAR_WRITE, "COW", t.pid, (unsigned long)p, 3), 3);
	EXPECT_EQ(peek(t.pid, (unsigned long)p, seen, sizeof(SECRET)), sizeof(SECRET));
	reap(&t);
	EXPECT_MEM(seen, "COW this is private!", sizeof(SECRET));
	EXPECT_MEM(p, SECRET, sizeof(SECRET));
	return 0;
}

static int gup_partial_copy_stops_at_a_hole(void)
{
	char *p = map_pages(2);
	static char buf[2 * PAGE], seen[PAGE];
	struct target t;

	REQUIRE(p);
	memset(p, 'a', PAGE);
	munmap(p + PAGE, PAGE);
	t = spawn(NULL, NULL);
	REQUIRE(t.pid > 0);
	EXPECT_EQ(far(FAR_READ, buf, t.pid, (unsigned long)p + 96, 2 * PAGE), PAGE - 96);
	EXPECT_MEM(buf, p + 96, PAGE - 96);
	memset(buf, 'b', sizeof(buf));
	EXPECT_EQ(far(FAR_WRITE, buf, t.pid, (unsigned long)p + 96, 2 * PAGE), PAGE - 96);
	EXPECT_EQ(peek(t.pid, (unsigned long)p, seen, PAGE), PAGE);
	/* The first page is the hole: its error. */
	EXPECT_ERR(far(FAR_READ, buf, t.pid, (unsigned long)p + PAGE, 16), EFAULT);
	EXPECT_ERR(far(FAR_WRITE, buf, t.pid, (unsigned long)p + PAGE, 16), EFAULT);
	reap(&t);
	EXPECT_MEM(seen, p, 96);
	EXPECT_MEM(seen + 96, buf, PAGE - 96);
	return 0;
}

static int gup_bad_caller_buffer_midway_returns_bytes_copied(void)
{
	char *src = map_pages(2), *buf = map_pages(2);
	struct target t;

	REQUIRE(src && buf);
	memset(src, 's', 2 * PAGE);
	memset(buf, 'b', PAGE);
	munmap(buf + PAGE, PAGE);
	t = spawn(NULL, NULL);
	REQUIRE(t.pid > 0);
	/* The caller's second page is gone: the first page is copied, and counted. */
	EXPECT_EQ(far(FAR_READ, buf, t.pid, (unsigned long)src, 2 * PAGE), PAGE);
	EXPECT_MEM(buf, src, PAGE);
	reap(&t);
	return 0;
}

/*
 * More pages than one get_user_pages_remote() batch of the reference
 * modules (16): every page arrives, and a hole or a bad caller page well
 * past the first batch ends the copy there, counted to the last whole page.
 */
static int gup_long_reads_stop_at_the_first_missing_page(void)
{
	char *p = map_pages(40), *buf = map_pages(40);
	struct target t;
	size_t i;

	REQUIRE(p && buf);
	for (i = 0; i < 40 * PAGE; i++)
		p[i] = (char)(i / PAGE * 3 + i);
	t = spawn(NULL, NULL);
	REQUIRE(t.pid > 0);
	EXPECT_EQ(far(FAR_READ, buf, t.pid, (unsigned long)p + 200, 39 * PAGE), 39 * PAGE);
	EXPECT_MEM(buf, p + 200, 39 * PAGE);
	reap(&t);
	munmap(p + 37 * PAGE, PAGE);
	t = spawn(NULL, NULL);
	REQUIRE(t.pid > 0);
	memset(buf, 0, 40 * PAGE);
	EXPECT_EQ(far(FAR_READ, buf, t.pid, (unsigned long)p + 200, 39 * PAGE), 37 * PAGE - 200);
	EXPECT_MEM(buf, p + 200, 37 * PAGE - 200);
	/* The caller's 19th page is gone: 18 whole pages are copied, and counted. */
	munmap(buf + 18 * PAGE, PAGE);
	EXPECT_EQ(far(FAR_READ, buf, t.pid, (unsigned long)p, 30 * PAGE), 18 * PAGE);
	EXPECT_MEM(buf, p, 18 * PAGE);
	reap(&t);
	return 0;
}

const struct test_case gup_cases[] = {
	CASE(gup_reads_across_pages, M_GUP),
	CASE(gup_writes_across_pages, M_GUP),
	CASE(gup_faults_in_untouched_pages, M_GUP),
	CASE(gup_writes_untouched_pages, M_GUP),
	CASE(gup_writes_a_string_literal, M_GUP),
	CASE(gup_writes_a_read_only_private_mapping, M_GUP),
	CASE(gup_cannot_write_a_read_only_shared_file_mapping, M_GUP),
	CASE(gup_breaks_copy_on_write_after_fork, M_GUP),
	CASE(gup_partial_copy_stops_at_a_hole, M_GUP),
	CASE(gup_bad_caller_buffer_midway_returns_bytes_copied, M_GUP),
	CASE(gup_long_reads_stop_at_the_first_missing_page, M_GUP),
};

const size_t nr_gup_cases = sizeof(gup_cases) / sizeof(gup_cases[0]);
