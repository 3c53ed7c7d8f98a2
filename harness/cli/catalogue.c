/* Where `ratchet explore NAME` finds the scenario catalogue (cli.h): the
 * build tree's binary has the source tree's scenarios/, an installed one
 * has PREFIX/share/ratchet/scenarios. The installed place is looked for
 * next to the binary first, so that a package unpacked anywhere
 * (dpkg -x, a DESTDIR) finds its own catalogue, not another install's. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Set by harness/cli/CMakeLists.txt; these keep a build without them
 * working from the source tree's top. */
#ifndef RATCHET_SCENARIOS_REL
#define RATCHET_SCENARIOS_REL "../share/ratchet/scenarios"
#endif
#ifndef RATCHET_SCENARIOS_INSTALLED
#define RATCHET_SCENARIOS_INSTALLED "/usr/local/share/ratchet/scenarios"
#endif
#ifndef RATCHET_SOURCE_DIR
#define RATCHET_SOURCE_DIR "."
#endif

/* Is path a folder? Then out is its real path (no "bin/.." in what
 * explore prints and replay files keep). */
static bool is_dir(const char *path, char *out)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode) && realpath(path, out) != NULL;
}

const char *rt_cmd_catalogue_dir(void)
{
	static char found[PATH_MAX];
	char exe[PATH_MAX], path[PATH_MAX + sizeof(RATCHET_SCENARIOS_REL) + 1];
	/* /proc/self/exe is Linux's; elsewhere the next two places remain. */
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash != NULL) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/%s", exe, RATCHET_SCENARIOS_REL);
			if (is_dir(path, found))
				return found;
		}
	}
	snprintf(path, sizeof(path), "%s/scenarios", RATCHET_SOURCE_DIR);
	if (is_dir(path, found) || is_dir(RATCHET_SCENARIOS_INSTALLED, found))
		return found;
	return NULL;
}

char *rt_cmd_catalogue_resolve(const char *arg)
{
	struct stat st;
	if (stat(arg, &st) == 0 || errno != ENOENT || strchr(arg, '/') != NULL ||
	    arg[0] == '\0')
		return cm_xstrdup(arg); /* a path: its errors are the caller's */
	const char *dir = rt_cmd_catalogue_dir();
	if (dir == NULL) {
		cm_error("explore: %s: no such file, and no scenario catalogue found "
			 "(installed: %s)", arg, RATCHET_SCENARIOS_INSTALLED);
		return NULL;
	}
	if (strcmp(arg, "scenarios") == 0)
		return cm_xstrdup(dir);
	size_t len = strlen(arg);
	bool scn = len > 4 && strcmp(arg + len - 4, ".scn") == 0;
	cm_buf path = {0};
	cm_buf_printf(&path, "%s/%s%s", dir, arg, scn ? "" : ".scn");
	if (stat(path.data, &st) != 0) {
		cm_error("explore: %s: no such file, nor a scenario %s%s in the catalogue %s",
			 arg, arg, scn ? "" : ".scn", dir);
		cm_buf_free(&path);
		return NULL;
	}
	return path.data;
}
