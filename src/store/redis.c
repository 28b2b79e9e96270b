/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * redis.c - the Redis store: swap_path "redis://HOST[:PORT][/DB]".  Not
 * built yet: redis_store_ops() says there is none, and store.c refuses a
 * redis:// swap path with -ENOTSUP.
 *
 * Layer: store (src/internal.h).  Calls: base.
 */
#include <stddef.h>

#include "internal.h"

/* The Redis store's callbacks, or NULL when dpemu has none. */
const struct dpemu_store_ops *redis_store_ops(void)
{
	return NULL;
}
