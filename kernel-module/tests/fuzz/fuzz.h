/* SPDX-License-Identifier: GPL-2.0 */
/*
 * farfetch_fuzz: random farfetch(2) calls (Parts 1 and 2) and random
 * /dev/farfetch ioctl/lseek/read/write sequences on two open files (Part 3)
 * against a target child that keeps changing its address space, and a stress
 * mode (target threads mapping, unmapping and exiting while callers loop).
 * It loads the part's reference module itself, and passes only if every
 * call's result is one the spec allows, no call copied more than asked,
 * stable pages read back exactly, the kernel log has no splat, the module's
 * refcount is back to 0, it unloads, and no pages leaked.
 *
 * What may be written: only the fuzzer's own scratch pages, and the target
 * child's churn and huge-page regions (or addresses no process can map).
 * Those regions sit at fixed addresses with unmapped holes around them, so
 * a long write stops at the hole instead of running into other memory.
 */
#ifndef FARFETCH_FUZZ_H
#define FARFETCH_FUZZ_H

#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PAGE 4096UL
#define MAX_RW_COUNT (0x7fffffffUL & ~(PAGE - 1))
/* Every address at or above this is outside user space, 4- or 5-level. */
#define USER_END ((1UL << 56) - PAGE)

/* Fixed places, far from anything the loader or malloc puts in memory. */
#define SCRATCH_ADDR	0x300000000000UL	/* self: FAR_WRITE target */
#define SCRATCH_PAGES	16
#define STABLE_ADDR	0x300100000000UL	/* self and target: read-only pattern */
#define STABLE_PAGES	16
#define CHURN_ADDR	0x300200000000UL	/* target: mapped, unmapped, mprotected */
#define CHURN_PAGES	64
#define HUGE_ADDR	0x300400000000UL	/* target: 2 MiB pages (MADV_HUGEPAGE) */
#define HUGE_BYTES	(4UL << 20)
#define BUF_BYTES	(64UL << 10)		/* caller buffer, a PROT_NONE page after */

/* What the target child shares with the fuzzer (a MAP_SHARED page). */
struct shared {
	atomic_int stop;
	atomic_int churn_pid;		/* the target's newest short-lived child */
	atomic_int dead_pid;		/* one it has reaped */
	atomic_int target_pid;		/* stress: the current target process */
	atomic_ulong stack_addr;	/* an address in the target's stack */
	atomic_ulong ops;		/* address-space changes made */
	atomic_ulong forks;
};

/* The byte every stable page holds at address @a. */
static inline unsigned char stable_byte(unsigned long a)
{
	return (unsigned char)(a * 131 + (a >> 12) * 7 + 0x5a);
}

/* xorshift64*: reproducible from --seed, one state per thread. */
static inline uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static inline uint64_t below(uint64_t *s, uint64_t n)
{
	return n ? rnd(s) % n : 0;
}

/* Tallies of one run, printed at the end. */
struct tally {
	unsigned long calls, ok, bytes, violations;
	unsigned long errnos[256];
	unsigned long restarts;		/* targets that died and were replaced */
	unsigned long walks;		/* stress: lab page walks */
};

struct part {
	int num;		/* 1, 2 or 3 */
	const char *module;	/* farfetch_p1 ... */
	int dev_fd[2];		/* Part 3: two open files of the device */
	const char *dev_path;
	unsigned long module_text; /* the module's .text, a kernel address */
};

extern struct tally *tally;	/* shared: the worker counts, main prints */
extern struct shared *shared;
extern unsigned char *buf;	/* BUF_BYTES, then a PROT_NONE page */
extern unsigned char *ro_page;	/* a read-only page */
extern int verbose;

/* fuzz_mem.c */
void setup_memory(void);
pid_t spawn_target(uint64_t seed);
void stop_target(pid_t pid);
pid_t target_alive(pid_t pid, uint64_t seed);

/* fuzz_check.c */
void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void count_errno(int err);
bool errno_allowed(int part, const char *op, int err, unsigned long pos);
const char *errno_name(int err);
void check_bytes(long ret, unsigned long len, unsigned long pos_in_page_limit,
		 const char *what);
void fill_canary(const unsigned char *b, unsigned long len);
void check_canary(const unsigned char *b, unsigned long len);
void check_stable(pid_t pid, pid_t self, pid_t target, unsigned long addr,
		  const unsigned char *b, long ret);

/* fuzz_pick.c: one random argument of each kind */
enum pid_kind { P_SELF, P_TARGET, P_CHURN, P_INIT, P_KTHREAD, P_DEAD, P_INVALID, P_KINDS };
struct pick {
	enum pid_kind kind;
	pid_t pid;
	unsigned long addr;
	bool writable;		/* a FAR_WRITE there stays in our own memory */
	unsigned long len;
	unsigned char *ubuf;
	bool ubuf_ok;		/* inside buf, room for len (or the guard) after it */
};
void pick_init(void);
void pick_pid(struct pick *c, uint64_t *s, pid_t self, pid_t target);
void pick_addr(struct pick *c, uint64_t *s, const struct part *p);
void pick_len(struct pick *c, uint64_t *s);
void pick_buf(struct pick *c, uint64_t *s);
bool never_mapped(unsigned long a);
bool in_scratch(unsigned long a);

/* fuzz_calls.c */
void fuzz_syscall(const struct part *p, unsigned long calls, uint64_t seed,
		  pid_t *target);
void fuzz_device(const struct part *p, unsigned long calls, uint64_t seed,
		 pid_t *target);

/* fuzz_stress.c */
void stress(const struct part *p, unsigned int seconds, uint64_t seed);

/* fuzz_kernel.c */
int kmsg_open(void);
unsigned long kmsg_splats(int fd);
long module_load(const char *name);
long module_unload(const char *name);
long module_refcount(const char *name);
unsigned long module_text(const char *name);
long free_pages_settled(void);
char *device_node(void);
long sys_far(unsigned int cmd, void *addr, pid_t pid, unsigned long taddr,
	     size_t len);

#endif
