// SPDX-License-Identifier: GPL-2.0
/*
 * farfetch_p1 - Farfetch'd Part 1: FAR_READ and FAR_WRITE by walking the
 * target's page tables by hand, pgd -> p4d -> pud -> pmd -> pte, one function
 * per level.  No get_user_pages*(): a page that is not present (never
 * touched, swapped out) or not writable fails with -EFAULT, and only the one
 * page that holds target_addr is copied.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/farfetch.h>
#include <linux/module.h>
#include <linux/pgtable.h>

#include "farfetch_common.h"
#include "farfetch_hook.h"

/* LAB: BEGIN SOLUTION p1-walk */
/* LAB: TODO p1-walk: find the page that maps an address by walking the */
/* LAB: TODO p1-walk: target's page tables yourself, one function per level */
/* LAB: TODO p1-walk: as mm/pagewalk.c does: pgd_offset(), p4d_offset(), */
/* LAB: TODO p1-walk: pud_offset(), pmd_offset(), then the pte under its lock */
/* LAB: TODO p1-walk: (pte_lockptr()).  Stop at an entry that is none, bad or */
/* LAB: TODO p1-walk: a huge leaf (pud_leaf(), pmd_leaf()).  pte_offset_map() */
/* LAB: TODO p1-walk: is not exported to modules: say in a comment why */
/* LAB: TODO p1-walk: pte_offset_kernel() is right on x86-64.  Check the */
/* LAB: TODO p1-walk: address is in a VMA first (vma_lookup()), take a */
/* LAB: TODO p1-walk: reference on the page (get_page()) while the pte lock */
/* LAB: TODO p1-walk: is held. */
/*
 * walk_pgd(), walk_p4d() and walk_pud() take an entry of their level and
 * return a pointer to the entry of the next level that maps @addr, or NULL
 * when the walk must stop there: the entry is none or bad, or it is a huge
 * (leaf) entry, which Part 1 does not follow.  Tables at these levels are
 * freed only once no VMA covers them (free_pgtables()), which the VMA check
 * in p1_find_page() rules out.
 */
static p4d_t *walk_pgd(pgd_t *pgd, unsigned long addr)
{
	pgd_t entry = READ_ONCE(*pgd);

	if (pgd_none(entry) || pgd_bad(entry))
		return NULL;
	/* With 4-level paging the p4d level is folded into the pgd. */
	return p4d_offset(pgd, addr);
}

static pud_t *walk_p4d(p4d_t *p4d, unsigned long addr)
{
	p4d_t entry = READ_ONCE(*p4d);

	if (p4d_none(entry) || p4d_bad(entry))
		return NULL;
	return pud_offset(p4d, addr);
}

static pmd_t *walk_pud(pud_t *pud, unsigned long addr)
{
	pud_t entry = READ_ONCE(*pud);

	if (pud_none(entry) || pud_leaf(entry) || pud_bad(entry))
		return NULL;
	return pmd_offset(pud, addr);
}

/**
 * pte_page_get - the page a pte maps, with a reference taken
 * @entry: the pte, read under its lock (which keeps the page mapped, so
 *         get_page() is safe: without it a concurrent munmap() or
 *         MADV_DONTNEED could free the page first)
 * @write: the page will be written
 *
 * Return: the page (put_page() it), or NULL if the pte is not present, is
 * not writable when @write, or maps no normal page.
 */
static struct page *pte_page_get(pte_t entry, bool write)
{
	struct page *page;

	if (!pte_present(entry))
		return NULL;
	if (write && !pte_write(entry))
		return NULL;
	/*
	 * A special pte maps memory that is not refcounted as a normal page: a
	 * VM_PFNMAP or VM_MIXEDMAP mapping such as [vvar], whose frames may have
	 * no struct page at all, or the shared zero page, which is fine to read
	 * (a page only ever read) and never writable.  vm_normal_page() makes
	 * this choice inside the kernel but is not exported.
	 */
	if (pte_special(entry) && !is_zero_pfn(pte_pfn(entry)))
		return NULL;
	/*
	 * What vm_normal_page() checks against highest_memmap_pfn: a frame
	 * without a struct page (a corrupted entry) must not become a page
	 * pointer.
	 */
	if (!pfn_valid(pte_pfn(entry)))
		return NULL;
	page = pte_page(entry);
	get_page(page);
	return page;
}

/**
 * walk_pmd - the last two levels: the pmd entry, then the pte under its lock
 * @mm: the target's address space
 * @pmd: the pmd entry that maps the address
 * @addr: the target address
 * @write: the page will be written
 *
 * The pmd can change while only the mmap read lock is held: with transparent
 * huge pages, once khugepaged has collapsed a file or shmem range into a
 * huge page it detaches the pte tables that mapped the range from every
 * process without their mmap locks (retract_page_tables(), under the pte
 * lock) and frees them after an RCU grace period; and a huge pmd can be
 * split into a table.  So this does what __pte_offset_map_lock() does (it is not exported
 * to modules): read the pmd once, find the pte table from that snapshot
 * rather than from a second read, hold RCU so the table can't be freed
 * meanwhile, take the table's lock and check that the pmd still points to
 * it; if it changed, look again (a pmd that is now huge or none then ends
 * the walk).
 *
 * pte_offset_map() would be the generic way to the pte, but it calls
 * __pte_offset_map(), which is not exported either.  On x86-64 every page
 * table lives in the kernel's direct map (there is no highmem), so
 * pte_offset_kernel() on the snapshot gives the same pointer.
 *
 * Return: the page, as pte_page_get(); NULL if the pmd is none, bad or a huge
 * (leaf) entry, which Part 1 does not follow.
 */
static struct page *walk_pmd(struct mm_struct *mm, pmd_t *pmd,
			     unsigned long addr, bool write)
{
	struct page *page;
	spinlock_t *ptl;	/* the pte table's lock */
	pmd_t entry;
	pte_t *pte;

again:
	rcu_read_lock();
	entry = pmdp_get_lockless(pmd);
	if (pmd_none(entry) || pmd_leaf(entry) || pmd_bad(entry)) {
		rcu_read_unlock();
		return NULL;
	}
	pte = pte_offset_kernel(&entry, addr);
	ptl = pte_lockptr(mm, &entry);
	spin_lock(ptl);
	if (unlikely(!pmd_same(entry, pmdp_get_lockless(pmd)))) {
		spin_unlock(ptl);
		rcu_read_unlock();
		goto again;
	}
	page = pte_page_get(ptep_get(pte), write);
	spin_unlock(ptl);
	rcu_read_unlock();
	return page;
}

/**
 * p1_find_page - walk @mm's page tables for @addr
 * @mm: the target's address space; its mmap lock is held
 * @addr: the target address
 * @write: the page will be written
 *
 * Return: the page that maps @addr with a reference taken, or NULL if @addr
 * is in no VMA, any level is missing, bad or huge, or pte_page_get() refuses
 * the pte.
 */
static struct page *p1_find_page(struct mm_struct *mm, unsigned long addr,
				 bool write)
{
	p4d_t *p4d;
	pud_t *pud;
	pmd_t *pmd;

	/*
	 * munmap() frees page tables after removing the VMA and downgrading
	 * the mmap lock to read, so holding the lock for reading is not enough:
	 * only the tables under a VMA cannot be freed while we walk them.
	 */
	if (!vma_lookup(mm, addr))
		return NULL;
	p4d = walk_pgd(pgd_offset(mm, addr), addr);
	if (!p4d)
		return NULL;
	pud = walk_p4d(p4d, addr);
	if (!pud)
		return NULL;
	pmd = walk_pud(pud, addr);
	if (!pmd)
		return NULL;
	return walk_pmd(mm, pmd, addr, write);
}
/* LAB: END SOLUTION */

/**
 * p1_farfetch - the farfetch(2) hook of Part 1
 * @cmd: FAR_READ or FAR_WRITE
 * @addr: the caller's buffer
 * @target_pid: the target process
 * @target_addr: the address in the target
 * @len: bytes to copy
 *
 * Only the page that holds @target_addr is copied, and only if it is
 * present (and writable, for FAR_WRITE): Part 1 neither faults pages in nor
 * breaks copy-on-write.
 *
 * Return: the bytes copied, min(@len, bytes to the end of the page that holds
 * @target_addr); 0 if @len is 0; -EINVAL for an unknown @cmd; -EPERM if the
 * caller's effective uid is not 0; -ESRCH if there is no such process or it
 * has no mm; -EFAULT if @target_addr is not below TASK_SIZE_OF(target), if
 * the walk finds no present page (or no writable one for FAR_WRITE), or if
 * the caller's buffer can't be accessed; -EINTR if killed while waiting for
 * the target's mmap lock; -ENOMEM if no bounce buffer could be had.
 */
static long p1_farfetch(unsigned int cmd, void __user *addr, pid_t target_pid,
			unsigned long target_addr, size_t len)
{
	/* LAB: BEGIN SOLUTION p1-farfetch */
	/* LAB: TODO p1-farfetch: check in the spec's order: cmd, len, the */
	/* LAB: TODO p1-farfetch: caller's euid (current_euid()), the target */
	/* LAB: TODO p1-farfetch: (far_target_get_nr()), TASK_SIZE_OF(); then */
	/* LAB: TODO p1-farfetch: take the target's mmap lock (killable), */
	/* LAB: TODO p1-farfetch: walk to the page and copy at most to its */
	/* LAB: TODO p1-farfetch: end (far_copy_page()).  Touch the caller's */
	/* LAB: TODO p1-farfetch: buffer only without the mmap lock held: */
	/* LAB: TODO p1-farfetch: bounce. */
	/* LAB: STUB return -ENOSYS; */
	unsigned int offset = offset_in_page(target_addr);
	bool write = cmd == FAR_WRITE;
	struct far_target target;
	struct page *page;
	void *bounce;
	long ret;

	if (cmd != FAR_READ && cmd != FAR_WRITE)
		return -EINVAL;
	if (!len)
		return 0;
	if (!uid_eq(current_euid(), GLOBAL_ROOT_UID))
		return -EPERM;
	ret = far_target_get_nr(target_pid, &target);
	if (ret)
		return ret;
	if (target_addr >= TASK_SIZE_OF(target.task)) {
		ret = -EFAULT;
		goto put_target;
	}
	len = min_t(size_t, len, PAGE_SIZE - offset);
	bounce = kmalloc(len, GFP_KERNEL);
	if (!bounce) {
		ret = -ENOMEM;
		goto put_target;
	}
	/*
	 * The caller's buffer is only touched while no mmap lock is held: a
	 * fault on it takes the caller's own mmap lock, which is the target's
	 * when a process reads itself.
	 */
	if (write && copy_from_user(bounce, addr, len)) {
		ret = -EFAULT;
		goto free_bounce;
	}
	if (mmap_read_lock_killable(target.mm)) {
		ret = -EINTR;
		goto free_bounce;
	}
	page = p1_find_page(target.mm, target_addr, write);
	if (!page) {
		ret = -EFAULT;
		goto unlock;
	}
	far_copy_page(page, offset, bounce, len, write);
	put_page(page);
	ret = len;
unlock:
	mmap_read_unlock(target.mm);
	if (ret > 0 && !write && copy_to_user(addr, bounce, len))
		ret = -EFAULT;
free_bounce:
	kfree(bounce);
put_target:
	far_target_put(&target);
	return ret;
	/* LAB: END SOLUTION */
}

static int __init farfetch_p1_init(void)
{
	return farfetch_hook_install(p1_farfetch);
}

static void __exit farfetch_p1_exit(void)
{
	farfetch_hook_remove(p1_farfetch);
}

module_init(farfetch_p1_init);
module_exit(farfetch_p1_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Farfetch'd Part 1: farfetch(2) by a manual 5-level page walk");
