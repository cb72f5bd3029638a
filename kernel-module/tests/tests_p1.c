// SPDX-License-Identifier: GPL-2.0
/* Cases: Part 1 only (the manual walk: no GUP). */
#include "harness.h"

static int p1_copies_only_to_the_end_of_the_page(void)
{
	char *p = map_pages(2);
	static char buf[3 * PAGE];

	REQUIRE(p);
	memset(p, 'a', 2 * PAGE);
	EXPECT_EQ(sys_far(FAR_READ, buf, getpid(), (unsigned long)p + PAGE - 10, 100), 10);
	EXPECT_MEM(buf, "aaaaaaaaaa", 10);
	EXPECT_EQ(sys_far(FAR_READ, buf, getpid(), (unsigned long)p, 3 * PAGE), PAGE);
	EXPECT_MEM(buf, p, PAGE);
	/* Nothing past the page: buf is static, so still zero there. */
	EXPECT_EQ(buf[PAGE], 0);
	return 0;
}

static int p1_writes_only_to_the_end_of_the_page(void)
{
	char *p = map_pages(2);
	char seen[20];
	struct target t;

	REQUIRE(p);
	t = spawn(fill_two_pages, p);	/* writable in the target: no copy-on-write */
	REQUIRE(t.pid > 0);
	EXPECT_EQ(sys_far(FAR_WRITE, "0123456789abcdefghij", t.pid,
			  (unsigned long)p + PAGE - 10, 20), 10);
	EXPECT_EQ(peek(t.pid, (unsigned long)p + PAGE - 10, seen, 20), 20);
	reap(&t);
	EXPECT_MEM(seen, "0123456789aaaaaaaaaa", 20);
	return 0;
}

static int p1_untouched_page_is_efault(void)
{
	char *p = map_pages(1);
	char buf[8];
	struct target t;

	REQUIRE(p);
	EXPECT_ERR(sys_far(FAR_READ, buf, getpid(), (unsigned long)p, 8), EFAULT);
	EXPECT_ERR(sys_far(FAR_WRITE, buf, getpid(), (unsigned long)p, 8), EFAULT);
	t = spawn(NULL, NULL);
	REQUIRE(t.pid > 0);
	EXPECT_ERR(sys_far(FAR_READ, buf, t.pid, (unsigned long)p + 8, 8), EFAULT);
	reap(&t);
	return 0;
}

static int p1_write_to_string_literal_is_efault(void)
{
	struct target t = spawn(NULL, NULL);
	char seen[sizeof(SECRET)];

	REQUIRE(t.pid > 0);
	EXPECT_ERR(sys_far(FAR_WRITE, "HEY", t.pid, (unsigned long)literal, 3), EFAULT);
	EXPECT_EQ(peek(t.pid, (unsigned long)literal, seen, sizeof(SECRET)), sizeof(SECRET));
	reap(&t);
	EXPECT_MEM(seen, SECRET, sizeof(SECRET));
	return 0;
}

static int p1_write_to_read_only_mapping_is_efault(void)
{
	char *p = map_pages(1);

	REQUIRE(p);
	strcpy(p, SECRET);
	REQUIRE(mprotect(p, PAGE, PROT_READ) == 0);
	EXPECT_ERR(sys_far(FAR_WRITE, "HEY", getpid(), (unsigned long)p, 3), EFAULT);
	EXPECT_MEM(p, SECRET, sizeof(SECRET));
	/* Reading it is fine. */
	EXPECT_EQ(sys_far(FAR_READ, (char[4]){ 0 }, getpid(), (unsigned long)p, 3), 3);
	return 0;
}

static int p1_does_not_break_copy_on_write(void)
{
	char *p = cow_page();
	struct target t;
	char seen[sizeof(SECRET)];

	REQUIRE(p);
	t = spawn(NULL, NULL);
	REQUIRE(t.pid > 0);
	EXPECT_ERR(sys_far(FAR_WRITE, "HEY", t.pid, (unsigned long)p, 3), EFAULT);
	EXPECT_EQ(peek(t.pid, (unsigned long)p, seen, sizeof(SECRET)), sizeof(SECRET));
	reap(&t);
	EXPECT_MEM(seen, SECRET, sizeof(SECRET));
	EXPECT_MEM(p, SECRET, sizeof(SECRET));
	return 0;
}

const struct test_case p1_cases[] = {
	CASE(p1_copies_only_to_the_end_of_the_page, M_P1),
	CASE(p1_writes_only_to_the_end_of_the_page, M_P1),
	CASE(p1_untouched_page_is_efault, M_P1),
	CASE(p1_write_to_string_literal_is_efault, M_P1),
	CASE(p1_write_to_read_only_mapping_is_efault, M_P1),
	CASE(p1_does_not_break_copy_on_write, M_P1),
};

const size_t nr_p1_cases = sizeof(p1_cases) / sizeof(p1_cases[0]);
