/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * policy_plugin.c - a custom replacement policy from a shared object
 * (policy_plugin.h).  Calls libc and the dynamic loader; API side only.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "policy_plugin.h"

const struct dpemu_policy_ops *policy_plugin_load(const char *path, char *err, size_t len)
{
	char local[4096];
	const struct dpemu_policy_ops *ops;
	void *h;

	if (!strchr(path, '/')) { /* a file here, never one of the library path */
		if ((size_t)snprintf(local, sizeof local, "./%s", path) >= sizeof local) {
			snprintf(err, len, "%s: file name too long", path);
			return NULL;
		}
		path = local;
	}
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *why = dlerror();
		snprintf(err, len, "%s", why ? why : "dlopen failed");
		return NULL;
	}
	ops = dlsym(h, POLICY_PLUGIN_SYMBOL);
	if (!ops) {
		snprintf(err, len, "%s defines no %s (a const struct dpemu_policy_ops; see "
		         "dpemu_policy(7), \"Writing a policy\")", path, POLICY_PLUGIN_SYMBOL);
		dlclose(h);
		return NULL;
	}
	if (!ops->pick) {
		snprintf(err, len, "%s: %s has no pick callback", path, POLICY_PLUGIN_SYMBOL);
		dlclose(h);
		return NULL;
	}
	return ops;
}
