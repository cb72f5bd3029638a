// SPDX-License-Identifier: GPL-2.0
/*
 * lab_introspect's listings for the lab's panels, read whole with no guest
 * process started (under TCG every process costs tens of milliseconds):
 *
 * /sys/kernel/debug/farfetch_lab/tasks: one line per process (thread-group
 * leader), "PID PPID EUID MM COMM", MM 1 when it has an address space (0 for
 * kernel threads and zombies), COMM last with '\', newline and space-free
 * octal escapes ("\012") for '\' and newline.
 *
 * /sys/kernel/debug/farfetch_lab/devnodes: one line per entry of /dev (not
 * "." or ".."), as lstat() sees it, "TYPE MAJOR MINOR MODE NAME": TYPE one of
 * c b d l - p s ?, MAJOR and MINOR in decimal (0 0 but for c and b), MODE the
 * permission bits in octal, NAME escaped as COMM is.  At most
 * DEVNODES_NAMES_SIZE bytes of names: a bigger /dev fails the read with
 * -E2BIG rather than listing part of it.
 */
#include <linux/cred.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kdev_t.h>
#include <linux/module.h>
#include <linux/mm_types.h>
#include <linux/namei.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uidgid.h>

#include "listings.h"

#define DEVNODES_NAMES_SIZE (64 * 1024)
#define DEVNODES_OUT_SIZE (64 * 1024)

static int tasks_show(struct seq_file *m, void *v)
{
	struct task_struct *p;

	rcu_read_lock();
	for_each_process(p) {
		const struct cred *cred = __task_cred(p);
		pid_t ppid = task_tgid_nr(rcu_dereference(p->real_parent));
		bool has_mm;

		seq_printf(m, "%d %d %u ", task_tgid_nr(p), ppid,
			   from_kuid_munged(current_user_ns(), cred->euid));
		/* task_lock() keeps mm and comm still while they are read. */
		task_lock(p);
		has_mm = p->mm && !(p->flags & PF_KTHREAD);
		seq_printf(m, "%d ", has_mm);
		seq_escape(m, p->comm, "\\\n");
		task_unlock(p);
		seq_putc(m, '\n');
	}
	rcu_read_unlock();
	return 0;
}

DEFINE_SHOW_ATTRIBUTE(tasks);

/* The names of /dev, NUL-separated, gathered before any of them is looked up. */
struct dev_names {
	struct dir_context ctx;
	char *buf;
	size_t len;
	bool full;
};

static bool collect_name(struct dir_context *ctx, const char *name, int len,
			 loff_t offset, u64 ino, unsigned int d_type)
{
	struct dev_names *names = container_of(ctx, struct dev_names, ctx);

	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return true;
	if (names->len + len + 1 > DEVNODES_NAMES_SIZE) {
		names->full = true;
		return false;
	}
	memcpy(names->buf + names->len, name, len);
	names->buf[names->len + len] = '\0';
	names->len += len + 1;
	return true;
}

static char type_letter(umode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFCHR:
		return 'c';
	case S_IFBLK:
		return 'b';
	case S_IFDIR:
		return 'd';
	case S_IFLNK:
		return 'l';
	case S_IFREG:
		return '-';
	case S_IFIFO:
		return 'p';
	case S_IFSOCK:
		return 's';
	}
	return '?';
}

/* One entry of @dir, as lstat() sees it; one gone since the listing is left out. */
static void show_node(struct seq_file *m, const struct path *dir,
		      const char *name)
{
	struct inode *inode;
	struct path path;
	bool device;

	if (vfs_path_lookup(dir->dentry, dir->mnt, name, 0, &path))
		return;
	inode = d_backing_inode(path.dentry);
	device = S_ISCHR(inode->i_mode) || S_ISBLK(inode->i_mode);
	seq_printf(m, "%c %u %u %o ", type_letter(inode->i_mode),
		   device ? MAJOR(inode->i_rdev) : 0,
		   device ? MINOR(inode->i_rdev) : 0, inode->i_mode & 07777);
	seq_escape(m, name, "\\\n");
	seq_putc(m, '\n');
	path_put(&path);
}

static int devnodes_show(struct seq_file *m, void *v)
{
	struct dev_names names = { .ctx.actor = collect_name };
	struct file *dir;
	size_t at;
	int err;

	names.buf = kvmalloc(DEVNODES_NAMES_SIZE, GFP_KERNEL);
	if (!names.buf)
		return -ENOMEM;
	dir = filp_open("/dev", O_RDONLY | O_DIRECTORY, 0);
	if (IS_ERR(dir)) {
		err = PTR_ERR(dir);
		goto out;
	}
	/* The lookups come after: iterate_dir() holds the directory's lock. */
	err = iterate_dir(dir, &names.ctx);
	if (!err && names.full)
		err = -E2BIG;
	for (at = 0; !err && at < names.len; at += strlen(names.buf + at) + 1)
		show_node(m, &dir->f_path, names.buf + at);
	filp_close(dir, NULL);
out:
	kvfree(names.buf);
	return err;
}

/*
 * A /dev of 600 entries prints about 10 KiB: sized for it from the start, or
 * seq_file runs the whole listing again at each doubling of its buffer.
 */
static int devnodes_open(struct inode *inode, struct file *file)
{
	return single_open_size(file, devnodes_show, NULL, DEVNODES_OUT_SIZE);
}

static const struct file_operations devnodes_fops = {
	.owner = THIS_MODULE,
	.open = devnodes_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
};

void lab_listings_create(struct dentry *dir)
{
	debugfs_create_file("tasks", 0400, dir, NULL, &tasks_fops);
	debugfs_create_file("devnodes", 0400, dir, NULL, &devnodes_fops);
}
