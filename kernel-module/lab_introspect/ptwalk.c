// SPDX-License-Identifier: GPL-2.0
/*
 * lab_introspect - the lab's own page-walk reporter (not a student module).
 *
 * /sys/kernel/debug/farfetch_lab/ptwalk: write "PID ADDR" (ADDR in hex with
 * 0x, or decimal), then read back, on the same open file, one line of JSON
 * with every level of the walk of ADDR in PID's page tables:
 *
 *   {"pid":P,"addr":"0x..","levels":5,"pgdPhys":"0x..","walk":[
 *     {"level":"pgd","index":N,"entryPhys":"0x..","raw":"0x..",
 *      "flags":{"P":true,"RW":true,...,"NX":false},"nextPhys":"0x.."|null},
 *     ... p4d, pud, pmd, pte ...],
 *    "present":true|false,"phys":"0x.."|null,"pageSize":4096|null,
 *    "stop":null|"not present at pmd"}
 *
 * entryPhys is the physical address of the entry itself, nextPhys that of the
 * table the entry points to (null for a leaf or an entry that is not
 * present), phys the physical address of ADDR (frame + offset).  A huge
 * (leaf) entry at the pud or pmd level ends the walk there: phys is computed
 * from it, pageSize says how big the page is and stop is null.  With 4-level
 * paging ("levels":4) there is no p4d entry.  The user-space command
 * `lab-ptwalk PID ADDR` wraps this.  listings.c adds the files "tasks" and
 * "devnodes" beside it.
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kstrtox.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pgtable.h>
#include <linux/rcupdate.h>
#include <linux/seq_buf.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "farfetch_common.h"
#include "listings.h"

/* Five levels of about 240 bytes each, and the rest: well below this. */
#define REPORT_SIZE 2048

struct walk_report {
	struct seq_buf sb;
	bool first_level;
	const char *stop;		/* why the walk stopped, or NULL */
	unsigned long page_size;	/* of the leaf that maps the address */
};

static struct dentry *lab_dir;

/*
 * Appends one element of "walk".  @entry points to the entry in the page
 * table, @next says whether it points to a next-level table (present and
 * not a leaf).
 */
static void report_level(struct walk_report *r, const char *level,
			 unsigned int index, void *entry, u64 raw, bool next)
{
	static const struct { const char *name; u64 bit; } bits[] = {
		{ "P", _PAGE_PRESENT }, { "RW", _PAGE_RW }, { "US", _PAGE_USER },
		{ "PWT", _PAGE_PWT }, { "PCD", _PAGE_PCD },
		{ "A", _PAGE_ACCESSED }, { "D", _PAGE_DIRTY },
		{ "PS", _PAGE_PSE }, { "G", _PAGE_GLOBAL }, { "NX", _PAGE_NX },
	};
	int i;

	seq_buf_printf(&r->sb,
		       "%s{\"level\":\"%s\",\"index\":%u,\"entryPhys\":\"0x%llx\",\"raw\":\"0x%llx\",\"flags\":{",
		       r->first_level ? "" : ",", level, index,
		       (u64)__pa(entry), raw);
	r->first_level = false;
	for (i = 0; i < ARRAY_SIZE(bits); i++)
		seq_buf_printf(&r->sb, "%s\"%s\":%s", i ? "," : "",
			       bits[i].name,
			       raw & bits[i].bit ? "true" : "false");
	if (next)
		seq_buf_printf(&r->sb, "},\"nextPhys\":\"0x%llx\"}",
			       (u64)(raw & PTE_PFN_MASK));
	else
		seq_buf_puts(&r->sb, "},\"nextPhys\":null}");
}

/*
 * One function per level, as in mm/pagewalk.c: each reports its entry and
 * returns the physical address of @addr, walking on if it must, or 0 with
 * r->stop set.  Each entry is read once (a snapshot) and the next level is
 * found from that snapshot, never by reading the entry again; an entry that
 * is not a table (pXd_bad) ends the walk.  The caller holds the mmap lock
 * in a way that keeps these tables from being freed (see lab_ptwalk()); the
 * pte table, which khugepaged may free without that lock (after an RCU
 * grace period, pte_free_defer()), is read under rcu_read_lock().
 */
static phys_addr_t walk_pte_level(struct walk_report *r, pmd_t *pmd,
				  unsigned long addr)
{
	pte_t *pte;
	pte_t entry;

	rcu_read_lock();
	pte = pte_offset_kernel(pmd, addr);
	entry = ptep_get(pte);
	report_level(r, "pte", pte_index(addr), pte, pte_val(entry), false);
	rcu_read_unlock();
	if (!pte_present(entry)) {
		r->stop = "not present at pte";
		return 0;
	}
	r->page_size = PAGE_SIZE;
	return PFN_PHYS(pte_pfn(entry)) | offset_in_page(addr);
}

static phys_addr_t walk_pmd_level(struct walk_report *r, pud_t *pud,
				  unsigned long addr)
{
	pmd_t *pmd = pmd_offset(pud, addr);
	pmd_t entry = pmdp_get_lockless(pmd);
	bool leaf = pmd_leaf(entry);

	report_level(r, "pmd", pmd_index(addr), pmd, pmd_val(entry),
		     pmd_present(entry) && !leaf);
	if (!pmd_present(entry)) {
		r->stop = "not present at pmd";
		return 0;
	}
	if (leaf) {
		r->page_size = PMD_SIZE;
		return PFN_PHYS(pmd_pfn(entry)) | (addr & ~PMD_MASK);
	}
	if (pmd_bad(entry)) {
		r->stop = "bad entry at pmd";
		return 0;
	}
	return walk_pte_level(r, &entry, addr);
}

static phys_addr_t walk_pud_level(struct walk_report *r, p4d_t *p4d,
				  unsigned long addr)
{
	pud_t *pud = pud_offset(p4d, addr);
	pud_t entry = READ_ONCE(*pud);
	bool leaf = pud_leaf(entry);

	report_level(r, "pud", pud_index(addr), pud, pud_val(entry),
		     pud_present(entry) && !leaf);
	if (!pud_present(entry)) {
		r->stop = "not present at pud";
		return 0;
	}
	if (leaf) {
		r->page_size = PUD_SIZE;
		return PFN_PHYS(pud_pfn(entry)) | (addr & ~PUD_MASK);
	}
	if (pud_bad(entry)) {
		r->stop = "bad entry at pud";
		return 0;
	}
	return walk_pmd_level(r, &entry, addr);
}

/*
 * With 4-level paging the p4d is folded into the pgd: p4d_offset() then
 * gives back the pgd entry itself, which the pgd level has reported and
 * checked already, so there is nothing of its own to report or stop at.
 */
static phys_addr_t walk_p4d_level(struct walk_report *r, pgd_t *pgd,
				  unsigned long addr)
{
	p4d_t *p4d = p4d_offset(pgd, addr);
	p4d_t entry = READ_ONCE(*p4d);

	if (pgtable_l5_enabled()) {
		report_level(r, "p4d", p4d_index(addr), p4d, p4d_val(entry),
			     p4d_present(entry));
		if (!p4d_present(entry)) {
			r->stop = "not present at p4d";
			return 0;
		}
		if (p4d_bad(entry)) {
			r->stop = "bad entry at p4d";
			return 0;
		}
	}
	return walk_pud_level(r, &entry, addr);
}

/*
 * pgd_present() is always true with 4-level paging (the p4d below it is
 * where the kernel keeps the real check): the hardware's present bit is
 * what decides here, at either depth.
 */
static phys_addr_t walk_pgd_level(struct walk_report *r, struct mm_struct *mm,
				  unsigned long addr)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	pgd_t entry = READ_ONCE(*pgd);
	bool present = pgd_flags(entry) & _PAGE_PRESENT;

	report_level(r, "pgd", pgd_index(addr), pgd, pgd_val(entry), present);
	if (!present) {
		r->stop = "not present at pgd";
		return 0;
	}
	if (pgtable_l5_enabled() && pgd_bad(entry)) {
		r->stop = "bad entry at pgd";
		return 0;
	}
	return walk_p4d_level(r, &entry, addr);
}

/**
 * lab_ptwalk - write the JSON report of @addr's walk in @nr's page tables
 * @nr: the process
 * @addr: the address
 * @buf: REPORT_SIZE bytes for the report
 *
 * Return: the report's length; -ESRCH if there is no such process or it has
 * no mm; -EFAULT if @addr is not a user address of the process; -EINTR if
 * killed while waiting for the mmap lock; -ENOSPC if the report did not fit.
 */
static ssize_t lab_ptwalk(pid_t nr, unsigned long addr, char *buf)
{
	struct walk_report r = { .first_level = true };
	struct far_target target;
	phys_addr_t phys;
	bool mapped;
	ssize_t ret;

	ret = far_target_get_nr(nr, &target);
	if (ret)
		return ret;
	if (addr >= TASK_SIZE_OF(target.task)) {
		ret = -EFAULT;
		goto put_target;
	}
	/*
	 * munmap() frees page tables after downgrading to the read lock, but
	 * only those of VMAs it has already removed from the tree: under the
	 * read lock, the tables of an address inside a VMA vma_lookup() finds
	 * stay.  Any other address is walked under the write lock, which
	 * waits for such an unmap to finish.
	 */
	if (mmap_read_lock_killable(target.mm)) {
		ret = -EINTR;
		goto put_target;
	}
	mapped = vma_lookup(target.mm, addr);
	if (!mapped) {
		mmap_read_unlock(target.mm);
		if (mmap_write_lock_killable(target.mm)) {
			ret = -EINTR;
			goto put_target;
		}
	}
	seq_buf_init(&r.sb, buf, REPORT_SIZE);
	seq_buf_printf(&r.sb,
		       "{\"pid\":%d,\"addr\":\"0x%lx\",\"levels\":%d,\"pgdPhys\":\"0x%llx\",\"walk\":[",
		       nr, addr, pgtable_l5_enabled() ? 5 : 4,
		       (u64)__pa(target.mm->pgd));
	phys = walk_pgd_level(&r, target.mm, addr);
	if (mapped)
		mmap_read_unlock(target.mm);
	else
		mmap_write_unlock(target.mm);
	if (r.stop)
		seq_buf_printf(&r.sb,
			       "],\"present\":false,\"phys\":null,\"pageSize\":null,\"stop\":\"%s\"}\n",
			       r.stop);
	else
		seq_buf_printf(&r.sb,
			       "],\"present\":true,\"phys\":\"0x%llx\",\"pageSize\":%lu,\"stop\":null}\n",
			       (u64)phys, r.page_size);
	ret = seq_buf_has_overflowed(&r.sb) ? -ENOSPC : seq_buf_used(&r.sb);
put_target:
	far_target_put(&target);
	return ret;
}

/*
 * "PID ADDR": PID in decimal, ADDR in hex with 0x or in decimal, separated
 * by blanks; a trailing newline is fine, anything else is not.
 */
static int parse_request(char *line, pid_t *nr, unsigned long *addr)
{
	char *rest = strim(line);
	char *pid_str = strsep(&rest, " \t");
	unsigned int base = 10;

	if (!rest)
		return -EINVAL;
	rest = skip_spaces(rest);
	if (rest[0] == '0' && (rest[1] == 'x' || rest[1] == 'X'))
		base = 16;
	if (kstrtoint(pid_str, 10, nr) || *nr <= 0 ||
	    kstrtoul(rest, base, addr))
		return -EINVAL;
	return 0;
}

/* Per open file: the last report, read back after a write. */
struct ptwalk_file {
	struct mutex lock;	/* protects len and buf */
	ssize_t len;		/* the report's length, or why there is none */
	char buf[REPORT_SIZE];
};

static int ptwalk_open(struct inode *inode, struct file *file)
{
	struct ptwalk_file *pf = kmalloc(sizeof(*pf), GFP_KERNEL);

	if (!pf)
		return -ENOMEM;
	mutex_init(&pf->lock);
	pf->len = -EINVAL;	/* read before write */
	file->private_data = pf;
	return 0;
}

static int ptwalk_release(struct inode *inode, struct file *file)
{
	struct ptwalk_file *pf = file->private_data;

	mutex_destroy(&pf->lock);
	kfree(pf);
	return 0;
}

/* A write asks for a walk; a failed one also fails the reads that follow. */
static ssize_t ptwalk_write(struct file *file, const char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	struct ptwalk_file *pf = file->private_data;
	unsigned long addr;
	char line[64];
	ssize_t len;
	pid_t nr;

	if (count >= sizeof(line))
		return -EINVAL;
	if (copy_from_user(line, ubuf, count))
		return -EFAULT;
	line[count] = '\0';
	mutex_lock(&pf->lock);
	len = parse_request(line, &nr, &addr);
	if (!len)
		len = lab_ptwalk(nr, addr, pf->buf);
	pf->len = len;
	mutex_unlock(&pf->lock);
	/* The report is read from its start. */
	*ppos = 0;
	return len < 0 ? len : count;
}

static ssize_t ptwalk_read(struct file *file, char __user *ubuf, size_t count,
			   loff_t *ppos)
{
	struct ptwalk_file *pf = file->private_data;
	ssize_t ret;

	mutex_lock(&pf->lock);
	if (pf->len < 0)
		ret = pf->len;
	else
		ret = simple_read_from_buffer(ubuf, count, ppos, pf->buf,
					      pf->len);
	mutex_unlock(&pf->lock);
	return ret;
}

static const struct file_operations ptwalk_fops = {
	.owner = THIS_MODULE,
	.open = ptwalk_open,
	.release = ptwalk_release,
	.read = ptwalk_read,
	.write = ptwalk_write,
	.llseek = default_llseek,
};

static int __init lab_introspect_init(void)
{
	/* debugfs failures are not fatal: the file is then simply missing. */
	lab_dir = debugfs_create_dir("farfetch_lab", NULL);
	debugfs_create_file("ptwalk", 0600, lab_dir, NULL, &ptwalk_fops);
	lab_listings_create(lab_dir);
	return 0;
}

static void __exit lab_introspect_exit(void)
{
	debugfs_remove(lab_dir);
}

module_init(lab_introspect_init);
module_exit(lab_introspect_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Farfetch'd Lab: page walks as JSON, the task list and /dev's nodes");
