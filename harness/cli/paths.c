/* The files a command reads and writes, checked before it does any work.
 *
 * A run can last hours: a report path in a directory that does not exist
 * must be refused at once, not after the run, and two outputs on one path
 * (--history X --report X), or an output on an input (check X --report X),
 * would silently destroy evidence. A file is identified by device and
 * inode when it exists, else by its directory's device and inode and its
 * name, so "r.json", "./r.json" and a path through a symlink agree. */
#include "cli.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct ident {
	dev_t dev;
	ino_t ino;
	char name[256];     /* "" when the file exists (dev, ino are its own) */
} ident;

/* The directory part and the last component of path. */
static void split(const char *path, char *dir, size_t dirsz, char *base, size_t basesz)
{
	char *a = cm_xstrdup(path), *b = cm_xstrdup(path);
	snprintf(dir, dirsz, "%s", dirname(a));
	snprintf(base, basesz, "%s", basename(b));
	free(a);
	free(b);
}

/* 0 with *id filled, or -1 with err filled (one line). */
static int identify(const rt_path *p, ident *id, cm_err *err)
{
	struct stat st;
	memset(id, 0, sizeof(*id));
	if (stat(p->path, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			cm_err_set(err, "%s %s is a directory", p->what, p->path);
			return -1;
		}
		id->dev = st.st_dev;
		id->ino = st.st_ino;
		return 0;
	}
	if (p->input) {
		cm_err_set(err, "cannot read %s %s: %s", p->what, p->path, strerror(errno));
		return -1;
	}
	char dir[4096];
	split(p->path, dir, sizeof(dir), id->name, sizeof(id->name));
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		cm_err_set(err, "%s %s: directory %s does not exist", p->what, p->path, dir);
		return -1;
	}
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	return 0;
}

static int check_writable(const rt_path *p, cm_err *err)
{
	char dir[4096], base[256];
	split(p->path, dir, sizeof(dir), base, sizeof(base));
	struct stat st;
	bool exists = stat(p->path, &st) == 0;
	if (exists ? access(p->path, W_OK) != 0 : access(dir, W_OK | X_OK) != 0) {
		cm_err_set(err, "cannot write %s %s: %s", p->what, p->path, strerror(errno));
		return -1;
	}
	return 0;
}

int rt_paths_check(const rt_path *paths, size_t n, cm_err *err)
{
	ident *ids = cm_xcalloc(n ? n : 1, sizeof(*ids));
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (paths[i].path == NULL || (paths[i].input && strcmp(paths[i].path, "-") == 0))
			continue;
		rc = identify(&paths[i], &ids[i], err);
		if (rc == 0 && !paths[i].input)
			rc = check_writable(&paths[i], err);
		for (size_t k = 0; k < i && rc == 0; k++) {
			if (paths[k].path == NULL || ids[k].dev != ids[i].dev ||
			    ids[k].ino != ids[i].ino || strcmp(ids[k].name, ids[i].name) != 0)
				continue;
			if (paths[k].input && paths[i].input)
				continue; /* reading one file twice harms nothing */
			cm_err_set(err, "%s %s and %s %s are the same file%s", paths[k].what,
				 paths[k].path, paths[i].what, paths[i].path,
				 paths[k].input || paths[i].input ? ": it would overwrite its input"
								  : "");
			rc = -1;
		}
	}
	free(ids);
	return rc;
}

int rt_paths_refuse(const char *cmd, const rt_path *paths, size_t n)
{
	cm_err err;
	if (rt_paths_check(paths, n, &err) == 0)
		return CM_EXIT_CLEAN;
	cm_error("%s: %s", cmd, err.text);
	return CM_EXIT_USAGE;
}
