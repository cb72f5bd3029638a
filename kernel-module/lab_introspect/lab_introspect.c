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
 *    "present":true|false,"phys":"0x.."|null,"stop":null|"not present at pmd"}
 *
 * entryPhys is the physical address of the entry itself, nextPhys that of the
 * next level's table, phys the physical address of ADDR (frame + offset).  A
 * huge (leaf) entry at the pud or pmd level ends the walk there with its
 * physical address.  The user-space command `lab-ptwalk PID ADDR` wraps this.
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/pgtable.h>
#include <linux/seq_buf.h>

#include "farfetch_common.h"

#define REPORT_SIZE 4096

struct walk_report {
	struct seq_buf sb;
	bool first_level;
};

static struct dentry *lab_dir;

static void report_level(struct walk_report *r, const char *level,
			 unsigned int index, void *entry, u64 raw, bool leaf)
{
	static const struct { const char *name; u64 bit; } bits[] = {
		{ "P", _PAGE_PRESENT }, { "RW", _PAGE_RW }, { "US", _PAGE_USER },
		{ "PWT", _PAGE_PWT }, { "PCD", _PAGE_PCD },
		{ "A", _PAGE_ACCESSED }, { "D", _PAGE_DIRTY },
		{ "PS", _PAGE_PSE }, { "G", _PAGE_GLOBAL }, { "NX", _PAGE_NX },
	};
	bool present = raw & _PAGE_PRESENT;
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
	if (present && !leaf)
		seq_buf_printf(&r->sb, "},\"nextPhys\":\"0x%llx\"}",
			       (u64)(raw & PTE_PFN_MASK));
	else
		seq_buf_puts(&r->sb, "},\"nextPhys\":null}");
}

/*
 * One function per level, as in mm/pagewalk.c: each reports its entry and
 * returns the physical address of @addr (walking on), or 0 with *stop set.
 */
static phys_addr_t walk_pte_level(struct walk_report *r, pmd_t *pmd,
				  unsigned long addr, const char **stop)
{
	pte_t *pte = pte_offset_kernel(pmd, addr);
	pte_t entry = ptep_get(pte);

	report_level(r, "pte", pte_index(addr), pte, pte_val(entry), true);
	if (!pte_present(entry)) {
		*stop = "not present at pte";
		return 0;
	}
	return PFN_PHYS(pte_pfn(entry)) | offset_in_page(addr);
}

static phys_addr_t walk_pmd_level(struct walk_report *r, pud_t *pud,
				  unsigned long addr, const char **stop)
{
	pmd_t *pmd = pmd_offset(pud, addr);
	pmd_t entry = pmdp_get_lockless(pmd);

	report_level(r, "pmd", pmd_index(addr), pmd, pmd_val(entry),
		     pmd_leaf(entry));
	if (!pmd_present(entry)) {
		*stop = "not present at pmd";
		return 0;
	}
	if (pmd_leaf(entry))
		return PFN_PHYS(pmd_pfn(entry)) | (addr & ~PMD_MASK);
	return walk_pte_level(r, pmd, addr, stop);
}

static phys_addr_t walk_pud_level(struct walk_report *r, p4d_t *p4d,
				  unsigned long addr, const char **stop)
{
	pud_t *pud = pud_offset(p4d, addr);
	pud_t entry = READ_ONCE(*pud);

	report_level(r, "pud", pud_index(addr), pud, pud_val(entry),
		     pud_leaf(entry));
	if (!pud_present(entry)) {
		*stop = "not present at pud";
		return 0;
	}
	if (pud_leaf(entry))
		return PFN_PHYS(pud_pfn(entry)) | (addr & ~PUD_MASK);
	return walk_pmd_level(r, pud, addr, stop);
}

static phys_addr_t walk_p4d_level(struct walk_report *r, pgd_t *pgd,
				  unsigned long addr, const char **stop)
{
	p4d_t *p4d = p4d_offset(pgd, addr);
	p4d_t entry = READ_ONCE(*p4d);

	/* With 4-level paging the p4d is folded into the pgd: no own entry. */
	if (pgtable_l5_enabled())
		report_level(r, "p4d", p4d_index(addr), p4d, p4d_val(entry),
			     false);
	if (!p4d_present(entry)) {
		*stop = "not present at p4d";
		return 0;
	}
	return walk_pud_level(r, p4d, addr, stop);
}

static phys_addr_t walk_pgd_level(struct walk_report *r, struct mm_struct *mm,
				  unsigned long addr, const char **stop)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	pgd_t entry = READ_ONCE(*pgd);

	report_level(r, "pgd", pgd_index(addr), pgd, pgd_val(entry), false);
	if (!pgd_present(entry)) {
		*stop = "not present at pgd";
		return 0;
	}
	return walk_p4d_level(r, pgd, addr, stop);
}

/**
 * lab_ptwalk - write the JSON report of @addr's walk in @nr's page tables
 * @nr: the process
 * @addr: the address
 * @buf: REPORT_SIZE bytes for the report
 *
 * Return: the report's length; -ESRCH if there is no such process or it has
 * no mm; -EFAULT if @addr is not a user address; -EINTR if killed while
 * waiting for the mmap lock; -ENOSPC if the report did not fit.
 */
static ssize_t lab_ptwalk(pid_t nr, unsigned long addr, char *buf)
{
	struct walk_report r = { .first_level = true };
	struct far_target target;
	const char *stop = NULL;
	phys_addr_t phys;
	int ret;

	ret = far_target_get_nr(nr, &target);
	if (ret)
		return ret;
	if (addr >= TASK_SIZE_OF(target.task)) {
		ret = -EFAULT;
		goto put_target;
	}
	if (mmap_read_lock_killable(target.mm)) {
		ret = -EINTR;
		goto put_target;
	}
	seq_buf_init(&r.sb, buf, REPORT_SIZE);
	seq_buf_printf(&r.sb,
		       "{\"pid\":%d,\"addr\":\"0x%lx\",\"levels\":%d,\"pgdPhys\":\"0x%llx\",\"walk\":[",
		       nr, addr, pgtable_l5_enabled() ? 5 : 4,
		       (u64)__pa(target.mm->pgd));
	phys = walk_pgd_level(&r, target.mm, addr, &stop);
	mmap_read_unlock(target.mm);
	if (stop)
		seq_buf_printf(&r.sb,
			       "],\"present\":false,\"phys\":null,\"stop\":\"%s\"}\n",
			       stop);
	else
		seq_buf_printf(&r.sb,
			       "],\"present\":true,\"phys\":\"0x%llx\",\"stop\":null}\n",
			       (u64)phys);
	ret = seq_buf_has_overflowed(&r.sb) ? -ENOSPC : seq_buf_used(&r.sb);
put_target:
	far_target_put(&target);
	return ret;
}

/* Per open file: the last report, read back after a write. */
struct ptwalk_file {
	struct mutex lock;	/* protects len and buf */
	ssize_t len;		/* -EINVAL until a walk has been written */
	char buf[REPORT_SIZE];
};

static int ptwalk_open(struct inode *inode, struct file *file)
{
	struct ptwalk_file *pf = kmalloc(sizeof(*pf), GFP_KERNEL);

	if (!pf)
		return -ENOMEM;
	mutex_init(&pf->lock);
	pf->len = -EINVAL;
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

static ssize_t ptwalk_write(struct file *file, const char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	struct ptwalk_file *pf = file->private_data;
	char line[64], addr_str[32];
	unsigned long addr;
	ssize_t len;
	pid_t nr;

	if (count >= sizeof(line))
		return -EINVAL;
	if (copy_from_user(line, ubuf, count))
		return -EFAULT;
	line[count] = '\0';
	if (sscanf(line, "%d %31s", &nr, addr_str) != 2 ||
	    kstrtoul(addr_str, 0, &addr))
		return -EINVAL;
	mutex_lock(&pf->lock);
	len = lab_ptwalk(nr, addr, pf->buf);
	pf->len = len;
	mutex_unlock(&pf->lock);
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
};

static int __init lab_introspect_init(void)
{
	lab_dir = debugfs_create_dir("farfetch_lab", NULL);
	debugfs_create_file("ptwalk", 0600, lab_dir, NULL, &ptwalk_fops);
	return 0;
}

static void __exit lab_introspect_exit(void)
{
	debugfs_remove(lab_dir);
}

module_init(lab_introspect_init);
module_exit(lab_introspect_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Farfetch'd Lab: page walks of any address in any process, as JSON");
