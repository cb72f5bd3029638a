// SPDX-License-Identifier: GPL-2.0
/*
 * Random arguments: pids (self, the target, its churning child, init,
 * kernel threads, dead and invalid pids), target addresses (stable and
 * scratch pages, the churn and huge-page regions, the target's stack, the
 * edges of 47- and 56-bit user space, kernel and non-canonical addresses,
 * random holes), lengths (0, 1, page +- 1, huge, SIZE_MAX) and caller
 * buffers (NULL, kernel, read-only, running into the guard page).
 */
#include "fuzz.h"

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pid_t kthreads[8];
static unsigned int nkthreads;
static pid_t pid_max = 32768;

/* Kernel threads: processes with an empty command line. */
void pick_init(void)
{
	char path[300], c;
	struct dirent *d;
	DIR *dir = opendir("/proc");
	FILE *f;

	while (dir && (d = readdir(dir)) && nkthreads < 8) {
		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", d->d_name);
		f = fopen(path, "r");
		if (f && fread(&c, 1, 1, f) == 0)
			kthreads[nkthreads++] = atoi(d->d_name);
		if (f)
			fclose(f);
	}
	if (dir)
		closedir(dir);
	if (!nkthreads)
		kthreads[nkthreads++] = 2;
	f = fopen("/proc/sys/kernel/pid_max", "r");
	if (f && fscanf(f, "%d", &pid_max) != 1)
		pid_max = 32768;
	if (f)
		fclose(f);
}

/* No process maps these: below mmap_min_addr's 64 KiB, or above 47 bits (no mmap hint asks). */
bool never_mapped(unsigned long a)
{
	return a < 0x10000 || a >= 1UL << 47;
}

bool in_scratch(unsigned long a)
{
	return a >= SCRATCH_ADDR && a < SCRATCH_ADDR + SCRATCH_PAGES * PAGE;
}

void pick_pid(struct pick *c, uint64_t *s, pid_t self, pid_t target)
{
	const pid_t invalid[] = { -1, 0, INT_MAX, INT_MIN, pid_max, pid_max + 1, -(pid_t)self };

	c->kind = (enum pid_kind)below(s, P_KINDS);
	/* Most calls at our own processes, where pages really come and go. */
	if (below(s, 2))
		c->kind = below(s, 3) ? P_TARGET : P_SELF;
	switch (c->kind) {
	case P_SELF: c->pid = self; break;
	case P_TARGET: c->pid = target; break;
	case P_CHURN: c->pid = atomic_load(&shared->churn_pid); break;
	case P_INIT: c->pid = 1; break;
	case P_KTHREAD: c->pid = kthreads[below(s, nkthreads)]; break;
	case P_DEAD: c->pid = atomic_load(&shared->dead_pid); break;
	default: c->pid = invalid[below(s, sizeof(invalid) / sizeof(invalid[0]))]; break;
	}
	if (!c->pid && c->kind != P_INVALID)
		c->pid = target;	/* nothing forked or reaped yet */
}

static unsigned long edge(uint64_t *s)
{
	static const unsigned long edges[] = {
		0, 1, PAGE - 1, PAGE, 0xffff, 0x10000,
		(1UL << 47) - 2 * PAGE, (1UL << 47) - PAGE, (1UL << 47) - 1,
		1UL << 47, (1UL << 47) + PAGE - 1,
		(1UL << 56) - 3 * PAGE, USER_END - 1, USER_END, 1UL << 56,
		(1UL << 57) - 1, 1UL << 63, ~0UL, ~0UL - PAGE + 1, ~0UL - 4095 - PAGE,
	};

	return edges[below(s, sizeof(edges) / sizeof(edges[0]))];
}

static unsigned long kernel_address(uint64_t *s, const struct part *p)
{
	static const unsigned long kernel[] = {
		0xffff888000000000UL,	/* 4-level direct map */
		0xff11000000000000UL,	/* 5-level direct map */
		0xffffffff81000000UL,	/* kernel text */
		0xffffc90000000000UL,	/* vmalloc */
		0xff00000000000000UL,
	};

	if (p->module_text && below(s, 3) == 0)
		return p->module_text + below(s, PAGE);
	return kernel[below(s, sizeof(kernel) / sizeof(kernel[0]))] + below(s, 4) * PAGE;
}

void pick_addr(struct pick *c, uint64_t *s, const struct part *p)
{
	bool ours = c->kind == P_TARGET;
	static const int dummy = 0;
	unsigned long a;

	switch (below(s, 10)) {
	case 0:
		a = STABLE_ADDR + below(s, STABLE_PAGES * PAGE + PAGE);
		c->writable = false;
		break;
	case 1:
		a = SCRATCH_ADDR + below(s, SCRATCH_PAGES * PAGE);
		c->writable = c->kind == P_SELF;
		break;
	case 2:
	case 3:
		a = CHURN_ADDR + below(s, CHURN_PAGES * PAGE);
		c->writable = ours;
		break;
	case 4:
		a = HUGE_ADDR + below(s, HUGE_BYTES);
		c->writable = ours;
		break;
	case 5:
		if (c->kind == P_SELF)
			a = (unsigned long)&dummy;	/* our own .rodata */
		else
			a = atomic_load(&shared->stack_addr) - below(s, 8 * PAGE);
		c->writable = false;
		break;
	case 6:
		a = edge(s) + (below(s, 4) ? 0 : below(s, 2 * PAGE) - PAGE);
		c->writable = never_mapped(a);
		break;
	case 7:
		a = kernel_address(s, p);
		c->writable = true;
		break;
	case 8:
		a = below(s, 1UL << 47);	/* a hole, mostly */
		c->writable = ours || never_mapped(a);
		break;
	default:
		a = (below(s, 2) ? SCRATCH_ADDR : CHURN_ADDR) - below(s, 3) * PAGE + below(s, PAGE);
		c->writable = ours || (c->kind == P_SELF && in_scratch(a));
		break;
	}
	c->addr = a;
}

void pick_len(struct pick *c, uint64_t *s)
{
	static const unsigned long lens[] = {
		0, 1, 2, 8, PAGE - 1, PAGE, PAGE + 1, 2 * PAGE - 1, 3 * PAGE + 5,
		BUF_BYTES, BUF_BYTES + 1, 1UL << 20, (2UL << 20) + 1, MAX_RW_COUNT,
		MAX_RW_COUNT + 1, 1UL << 40, ~0UL, (~0UL >> 1) + 1, ~0UL >> 1,
	};

	if (below(s, 3) == 0)
		c->len = 1 + below(s, 3 * PAGE);
	else
		c->len = lens[below(s, sizeof(lens) / sizeof(lens[0]))];
}

void pick_buf(struct pick *c, uint64_t *s)
{
	unsigned long room;

	c->ubuf_ok = false;
	switch (below(s, 12)) {
	case 0: c->ubuf = NULL; break;
	case 1: c->ubuf = (unsigned char *)0xffffffff81000000UL; break;
	case 2: c->ubuf = (unsigned char *)(1UL << 63); break;
	case 3: c->ubuf = ro_page + below(s, PAGE); break;
	case 4: c->ubuf = (unsigned char *)(0x10000 + below(s, PAGE)); break;
	case 5:
	case 6:
		/* Runs into the PROT_NONE page after buf. */
		c->ubuf = buf + BUF_BYTES - 1 - below(s, 2 * PAGE);
		c->ubuf_ok = true;
		break;
	default:
		room = c->len < BUF_BYTES ? BUF_BYTES - c->len : 0;
		c->ubuf = buf + below(s, room + 1);
		c->ubuf_ok = true;
		break;
	}
}
