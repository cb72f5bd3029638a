/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LAB_LISTINGS_H
#define LAB_LISTINGS_H

struct dentry;

void lab_listings_create(struct dentry *dir);

#endif
