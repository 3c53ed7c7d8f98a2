/* The mailbox root: names to directories, CREATE and DELETE.
 *
 * UIDVALIDITY: rs_create(0) takes the clock second, so a name deleted and
 * created again within a second would get the same value and its new UIDs
 * would alias the old ones (3501 2.3.1.1). CREATE therefore takes a lock in
 * the root, reads a counter, stores max(counter + 1, now) durably and only
 * then creates the mailbox with that value: creations are ordered, and so
 * are their UIDVALIDITY values. The lock is the store's own lock file
 * (rs_lockfile, docs/design.md#delivery), in the root instead of a
 * mailbox. */
#include "session_private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define UIDV_FILE ".ratchet-uidvalidity"
#define LOCK_FILE ".ratchet-create.lock"
#define LOCK_TIMEOUT_NS (30ull * 1000000000u)
#define LOCK_STALE_NS (300ull * 1000000000u)

void rs_namespace_canon(const char *name, char out[MODEL_NAME_MAX])
{
	if (strcasecmp(name, "INBOX") == 0)
		name = "INBOX";
	snprintf(out, MODEL_NAME_MAX, "%s", name);
}

static bool plain_byte(unsigned char c, bool first)
{
	if (c == '.')
		return !first;
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

int rs_namespace_path(const char *root, const char *name, char *out, size_t outlen)
{
	char canon[MODEL_NAME_MAX];
	size_t len = strlen(name);
	if (len == 0 || len >= MODEL_NAME_MAX)
		return -1;
	rs_namespace_canon(name, canon);
	int w = snprintf(out, outlen, "%s/", root);
	if (w < 0 || (size_t)w >= outlen)
		return -1;
	size_t pos = (size_t)w;
	for (size_t i = 0; canon[i] != '\0'; i++) {
		unsigned char c = (unsigned char)canon[i];
		if (pos + 4 > outlen)
			return -1;
		if (plain_byte(c, i == 0))
			out[pos++] = (char)c;
		else
			pos += (size_t)snprintf(out + pos, 4, "%%%02X", c);
	}
	out[pos] = '\0';
	return 0;
}

char *rs_namespace_mailbox_path(const char *root, const char *name)
{
	char path[RS_NAMESPACE_PATH_MAX];
	return rs_namespace_path(root, name, path, sizeof(path)) < 0 ? NULL
							       : cm_xstrdup(path);
}

static char *join(const char *root, const char *name)
{
	size_t a = strlen(root), b = strlen(name);
	char *p = cm_xmalloc(a + b + 2);
	memcpy(p, root, a);
	p[a] = '/';
	memcpy(p + a + 1, name, b + 1);
	return p;
}

static int parent_fsync(rs_fs *fs, const char *path)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		return 0;
	char *parent = slash == path ? cm_xstrdup("/")
				     : cm_xstrndup(path, (size_t)(slash - path));
	int r = fs->ops->fsync_dir(fs, parent);
	free(parent);
	return r;
}

rs_err rs_namespace_init(rs_fs *fs, const char *root)
{
	rs_fs_stat st;
	if (fs->ops->stat(fs, root, &st) == 0)
		return st.is_dir ? RS_OK : RS_EINVAL;
	int r = fs->ops->mkdir(fs, root);
	if (r == 0)
		r = parent_fsync(fs, root);
	return r == 0 || r == -EEXIST ? RS_OK : RS_EFAIL;
}

/* A real directory (not a link to one) at path. */
static bool real_dir(rs_fs *fs, const char *path, rs_fs_stat *st)
{
	return fs->ops->stat(fs, path, st) == 0 && st->is_dir && !st->is_link;
}

bool session_root_is_mailbox(rs_fs *fs, const char *path, rs_fs_stat *st_r)
{
	static const char *const triple[] = {"tmp", "new", "cur"};
	char sub[RS_NAMESPACE_PATH_MAX];
	rs_fs_stat st;
	if (!real_dir(fs, path, st_r))
		return false;
	for (size_t i = 0; i < CM_ARRAY_LEN(triple); i++) {
		int n = snprintf(sub, sizeof(sub), "%s/%s", path, triple[i]);
		if (n < 0 || (size_t)n >= sizeof(sub) || !real_dir(fs, sub, &st))
			return false;
	}
	return true;
}

bool rs_namespace_exists(rs_fs *fs, const char *root, const char *name)
{
	char path[RS_NAMESPACE_PATH_MAX];
	rs_fs_stat st;
	return rs_namespace_path(root, name, path, sizeof(path)) == 0 &&
	       session_root_is_mailbox(fs, path, &st);
}

/* ---- small whole-file helpers ---- */

static int read_small(rs_fs *fs, const char *path, char *buf, size_t size,
		      rs_fs_stat *st_r)
{
	int fd = fs->ops->open(fs, path, RS_O_RDONLY);
	if (fd < 0)
		return fd;
	int r = fs->ops->fstat(fs, fd, st_r);
	ssize_t n = 0;
	if (r == 0)
		n = fs->ops->pread(fs, fd, buf, size - 1, 0);
	fs->ops->close(fs, fd);
	if (r < 0 || n < 0)
		return r < 0 ? r : (int)n;
	buf[n] = '\0';
	return 0;
}

/* Creates path exclusively with data, fsynced. */
static int write_excl(rs_fs *fs, const char *path, const char *data)
{
	int fd = fs->ops->open(fs, path, RS_O_APPEND | RS_O_CREAT | RS_O_EXCL);
	if (fd < 0)
		return fd;
	ssize_t n = fs->ops->append(fs, fd, data, strlen(data));
	int r = n < 0 ? (int)n : fs->ops->fsync(fs, fd);
	fs->ops->close(fs, fd);
	if (r < 0)
		fs->ops->unlink(fs, path);
	return r;
}

/* ---- UIDVALIDITY counter (under the lock) ---- */

static rs_err next_uidvalidity(rs_fs *fs, const char *root, uint32_t *uv_r)
{
	char *path = join(root, UIDV_FILE);
	char *tmp = join(root, UIDV_FILE ".tmp");
	char buf[64];
	rs_fs_stat st;
	uint64_t last = 0;
	int r = read_small(fs, path, buf, sizeof(buf), &st);
	/* Written by rename of a synced file: never torn, so garbage is
	 * corruption, and guessing could repeat a value. */
	rs_err err = r < 0 && r != -ENOENT ? RS_EFAIL : RS_OK;
	if (r == 0 && sscanf(buf, "%" SCNu64, &last) != 1)
		err = RS_ECORRUPT;
	uint64_t uv = CM_MAX(last + 1, fs->ops->now_ns(fs) / 1000000000u);
	if (err == RS_OK && uv > UINT32_MAX)
		err = RS_EFAIL;
	if (err == RS_OK) {
		snprintf(buf, sizeof(buf), "%" PRIu64 "\n", uv);
		fs->ops->unlink(fs, tmp);
		r = write_excl(fs, tmp, buf);
		if (r == 0)
			r = fs->ops->rename(fs, tmp, path);
		if (r == 0)
			r = fs->ops->fsync_dir(fs, root);
		if (r < 0)
			err = r == -ENOSPC ? RS_ENOSPC : RS_EFAIL;
	}
	free(path);
	free(tmp);
	*uv_r = (uint32_t)uv;
	return err;
}

/* A unique name in the root for a directory on its way in or out. */
static void side_name(rs_fs *fs, const char *root, const char *what,
		      uint32_t pid, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/.%s.%" PRIu32 ".%" PRIu64, root, what, pid,
		 fs->ops->now_ns(fs));
}

/* Built aside and renamed into place: nobody sees a half-made mailbox. */
static rs_err create_locked(rs_fs *fs, const char *root, const char *path,
			    uint32_t pid)
{
	char tmp[RS_NAMESPACE_PATH_MAX];
	uint32_t uv = 0;
	rs_err err = next_uidvalidity(fs, root, &uv);
	if (err != RS_OK)
		return err;
	side_name(fs, root, "creating", pid, tmp, sizeof(tmp));
	err = rs_create(fs, tmp, uv);
	if (err == RS_EEXIST)
		return RS_EFAIL; /* our unique side name, not the mailbox */
	if (err != RS_OK) {
		rs_delete(fs, tmp);
		return err;
	}
	int r = fs->ops->rename(fs, tmp, path);
	if (r < 0) {
		rs_delete(fs, tmp);
		return r == -EEXIST || r == -ENOTEMPTY ? RS_EEXIST
		       : r == -ENOSPC		       ? RS_ENOSPC
						       : RS_EFAIL;
	}
	/* Visible now; if the entry is not durable a crash may undo it. */
	return fs->ops->fsync_dir(fs, root) < 0 ? RS_EUNKNOWN : RS_OK;
}

rs_err session_root_create(rs_fs *fs, const char *root, const char *name, uint32_t pid)
{
	char path[RS_NAMESPACE_PATH_MAX];
	rs_fs_stat st;
	if (rs_namespace_path(root, name, path, sizeof(path)) < 0)
		return RS_EINVAL;
	if (fs->ops->stat(fs, path, &st) == 0)
		return RS_EEXIST;
	char *lock_path = join(root, LOCK_FILE);
	rs_lockfile lk = {.fs = fs, .path = lock_path, .pid = pid, .host = "localhost",
			  .timeout_ns = LOCK_TIMEOUT_NS, .stale_ns = LOCK_STALE_NS};
	const char *what;
	int r = rs_lockfile_take(&lk, &what);
	rs_err err = r == 0 ? RS_OK : r == -ETIMEDOUT ? RS_ELOCKED
			: r == -ENOSPC ? RS_ENOSPC : RS_EFAIL;
	if (err == RS_OK) {
		err = create_locked(fs, root, path, pid);
		rs_lockfile_release(&lk);
	}
	free(lock_path);
	return err;
}

/* Renamed aside first, so that sessions see the name vanish at once
 * rather than a mailbox losing its files one by one (which a reader
 * could not tell from a store anomaly). */
rs_err session_root_delete(rs_fs *fs, const char *root, const char *name, uint32_t pid)
{
	char path[RS_NAMESPACE_PATH_MAX], trash[RS_NAMESPACE_PATH_MAX];
	rs_fs_stat st;
	if (rs_namespace_path(root, name, path, sizeof(path)) < 0)
		return RS_EINVAL;
	/* The one predicate LIST uses: what is not listed is not deleted. */
	if (!session_root_is_mailbox(fs, path, &st))
		return RS_ENOENT;
	side_name(fs, root, "deleted", pid, trash, sizeof(trash));
	int r = fs->ops->rename(fs, path, trash);
	if (r < 0)
		return r == -ENOENT ? RS_ENOENT : RS_EFAIL;
	if (fs->ops->fsync_dir(fs, root) < 0)
		return RS_EUNKNOWN;
	rs_delete(fs, trash); /* leftovers are dot names: never mailboxes */
	return RS_OK;
}

/* The harness itself (set-up, tools): pid 0, a lock owner nobody can ask
 * about, so only its age would make it stale. */
rs_err rs_namespace_create_mailbox(rs_fs *fs, const char *root, const char *name)
{
	return session_root_create(fs, root, name, 0);
}

rs_err rs_namespace_delete_mailbox(rs_fs *fs, const char *root, const char *name)
{
	return session_root_delete(fs, root, name, 0);
}
