/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * policy_plugin.h - loading a custom replacement policy from a shared
 * object (dpemu run --policy-lib, dpemu replay --policy-lib): the object
 * defines `const struct dpemu_policy_ops dpemu_policy_plugin`
 * (dpemu_policy(7), "Writing a policy").  Used by the tool and by the
 * preload library.
 */
#ifndef DPEMU_POLICY_PLUGIN_H
#define DPEMU_POLICY_PLUGIN_H

#include <stddef.h>

#include <dpemu.h>

#define POLICY_PLUGIN_SYMBOL "dpemu_policy_plugin"

/*
 * dlopen the shared object at path (a name without a slash is taken as
 * ./name, not searched for in the library path) and return its
 * dpemu_policy_plugin, which has a pick callback.  NULL on failure, with
 * what went wrong in err (len bytes): the loader's message, no such
 * symbol, or no pick.  The object stays loaded.
 */
const struct dpemu_policy_ops *policy_plugin_load(const char *path, char *err, size_t len);

#endif
