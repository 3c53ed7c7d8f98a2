/* Mailbox creation, deletion, open/close, names and small file helpers. */
#include "rs_private.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *rs_join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = cm_xmalloc(a + b + 2);
	memcpy(p, dir, a);
	p[a] = '/';
	memcpy(p + a + 1, name, b + 1);
	return p;
}

uint32_t rs_my_pid(const rs_mailbox *mb)
{
	return mb->opts.pid;
}

/* Maildir-style unique name: time, pid, a counter per file system, host. */
void rs_make_name(rs_mailbox *mb, char out[RS_NAME_MAX])
{
	uint64_t now = mb->fs->ops->now_ns(mb->fs);
	snprintf(out, RS_NAME_MAX, "%" PRIu64 ".M%" PRIu64 "P%" PRIu32 "Q%" PRIu64 ".%s",
		 now / 1000000000u, (now / 1000u) % 1000000u, mb->opts.pid,
		 ++mb->fs->names, mb->host);
}

int rs_read_file(rs_fs *fs, const char *path, cm_buf *out, rs_fs_stat *st_r)
{
	rs_fs_stat st;
	int fd = fs->ops->open(fs, path, RS_O_RDONLY);
	if (fd < 0)
		return fd;
	int r = fs->ops->fstat(fs, fd, &st);
	if (r == 0) {
		cm_buf_clear(out);
		cm_buf_reserve(out, st.size);
		uint64_t off = 0;
		while (off < st.size) {
			ssize_t n = fs->ops->pread(fs, fd, out->data + off,
						   st.size - off, off);
			if (n < 0) {
				r = (int)n;
				break;
			}
			if (n == 0)
				break;
			off += (uint64_t)n;
		}
		out->len = off;
		out->data[off] = '\0';
		if (st_r != NULL)
			*st_r = st;
	}
	fs->ops->close(fs, fd);
	return r;
}

/* Writes path.tmp, fsyncs it and renames it over path. */
int rs_write_file_synced(rs_fs *fs, const char *path, const void *data, size_t len)
{
	char *tmp = cm_xmalloc(strlen(path) + 5);
	sprintf(tmp, "%s.tmp", path);
	int fd = fs->ops->open(fs, tmp, RS_O_APPEND | RS_O_CREAT | RS_O_TRUNC);
	int r = fd;
	if (fd >= 0) {
		ssize_t w = len > 0 ? fs->ops->append(fs, fd, data, len) : 0;
		r = w < 0 ? (int)w : fs->ops->fsync(fs, fd);
		fs->ops->close(fs, fd);
		if (r == 0)
			r = fs->ops->rename(fs, tmp, path);
		if (r < 0)
			fs->ops->unlink(fs, tmp);
	}
	free(tmp);
	return r;
}

static char *parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		return cm_xstrdup(".");
	if (slash == path)
		return cm_xstrdup("/");
	return cm_xstrndup(path, (size_t)(slash - path));
}

rs_err rs_create(rs_fs *fs, const char *path, uint32_t uidvalidity)
{
	static const char *const subdirs[] = {"tmp", "new", "cur"};
	uint64_t now_s = fs->ops->now_ns(fs) / 1000000000u;
	int r = fs->ops->mkdir(fs, path);
	if (r < 0)
		return rs_err_from_errno(r);
	for (size_t i = 0; i < 3 && r == 0; i++) {
		char *sub = rs_join(path, subdirs[i]);
		r = fs->ops->mkdir(fs, sub);
		free(sub);
	}
	if (uidvalidity == 0)
		uidvalidity = (uint32_t)now_s;
	/* The log comes first: a UID list without a log is rebuilt, never the
	 * other way round. indexid = creation second (docs/design.md#modseq). */
	uint32_t indexid = (uint32_t)now_s;
	cm_buf b = {0};
	if (r == 0) {
		cm_buf_printf(&b, "%s %" PRIu32 " 1 %" PRIu32 " 0\n", RS_LOG_MAGIC,
			      indexid, uidvalidity);
		char *p = rs_join(path, RS_LOG);
		r = rs_write_file_synced(fs, p, b.data, b.len);
		free(p);
	}
	if (r == 0) {
		cm_buf_clear(&b);
		rs_uidlist_header(&b, uidvalidity, 1, (uint64_t)indexid + 1);
		char *p = rs_join(path, RS_UIDLIST);
		r = rs_write_file_synced(fs, p, b.data, b.len);
		free(p);
	}
	cm_buf_free(&b);
	if (r == 0)
		r = fs->ops->fsync_dir(fs, path);
	if (r == 0) {
		char *parent = parent_dir(path);
		r = fs->ops->fsync_dir(fs, parent);
		free(parent);
	}
	return r < 0 ? rs_err_from_errno(r) : RS_OK;
}

rs_err rs_delete(rs_fs *fs, const char *path)
{
	int r = fs->ops->remove_tree(fs, path);
	if (r == 0) {
		char *parent = parent_dir(path);
		fs->ops->fsync_dir(fs, parent);
		free(parent);
	}
	return r < 0 ? rs_err_from_errno(r) : RS_OK;
}

static void sanitize_host(char *dst, size_t size, const char *src)
{
	size_t j = 0;
	for (size_t i = 0; src[i] != '\0' && j + 1 < size && j < 24; i++) {
		char c = src[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-';
		dst[j++] = ok ? c : '_';
	}
	dst[j] = '\0';
	if (j == 0)
		snprintf(dst, size, "localhost");
}

static rs_mailbox *mailbox_alloc(rs_fs *fs, const char *path,
				 const rs_options *opts)
{
	rs_mailbox *mb = cm_xcalloc(1, sizeof(*mb));
	mb->fs = fs;
	mb->path = cm_xstrdup(path);
	mb->p_uidlist = rs_join(path, RS_UIDLIST);
	mb->p_lock = rs_join(path, RS_LOCK);
	mb->p_log = rs_join(path, RS_LOG);
	mb->p_tmp = rs_join(path, "tmp");
	mb->p_new = rs_join(path, "new");
	mb->p_cur = rs_join(path, "cur");
	if (opts != NULL)
		mb->opts = *opts;
	if (mb->opts.pid == 0)
		mb->opts.pid = (uint32_t)getpid();
	sanitize_host(mb->host, sizeof(mb->host),
		      mb->opts.host ? mb->opts.host : "localhost");
	mb->opts.host = NULL; /* never keep the caller's pointer */
	if (mb->opts.lock_timeout_ns == 0)
		mb->opts.lock_timeout_ns = 30ull * 1000000000u;
	if (mb->opts.lock_stale_ns == 0)
		mb->opts.lock_stale_ns = 300ull * 1000000000u;
	if (mb->opts.log_rotate_bytes == 0)
		mb->opts.log_rotate_bytes = 1u << 20;
	mb->log_fd = -1;
	mb->lock = (rs_lockfile){.fs = fs, .path = mb->p_lock, .pid = mb->opts.pid,
				 .host = mb->host, .timeout_ns = mb->opts.lock_timeout_ns,
				 .stale_ns = mb->opts.lock_stale_ns};
	return mb;
}

rs_mailbox *rs_open_reader(rs_fs *fs, const char *path, const rs_options *opts)
{
	rs_fs_stat st;
	if (fs->ops->stat(fs, path, &st) < 0 || !st.is_dir)
		return NULL;
	return mailbox_alloc(fs, path, opts);
}

rs_err rs_open(rs_fs *fs, const char *path, const rs_options *opts,
	       rs_mailbox **mb_r, char **err_msg_r)
{
	rs_fs_stat st;
	*mb_r = NULL;
	if (err_msg_r != NULL)
		*err_msg_r = NULL;
	int r = fs->ops->stat(fs, path, &st);
	if (r < 0 || !st.is_dir) {
		if (err_msg_r != NULL)
			*err_msg_r = cm_xstrdup(r < 0 ? "mailbox not found"
						      : "not a directory");
		return r < 0 ? rs_err_from_errno(r) : RS_ENOENT;
	}
	rs_mailbox *mb = mailbox_alloc(fs, path, opts);
	rs_err err = rs_recover_open(mb);
	if (err != RS_OK) {
		if (err_msg_r != NULL)
			*err_msg_r = cm_xstrdup(mb->err[0] ? mb->err : rs_strerror(err));
		rs_close(mb);
		return err;
	}
	*mb_r = mb;
	return RS_OK;
}

void rs_close(rs_mailbox *mb)
{
	if (mb == NULL)
		return;
	if (mb->locked)
		rs_unlock(mb);
	if (mb->log_fd >= 0)
		mb->fs->ops->close(mb->fs, mb->log_fd);
	free(mb->path);
	free(mb->p_uidlist);
	free(mb->p_lock);
	free(mb->p_log);
	free(mb->p_tmp);
	free(mb->p_new);
	free(mb->p_cur);
	free(mb->msgs);
	free(mb->tombs);
	free(mb->move_dst);
	cm_uidset_free(&mb->move_uids);
	cm_uidset_free(&mb->scratch);
	cm_buf_free(&mb->rbuf);
	cm_buf_free(&mb->wbuf);
	free(mb);
}

const char *rs_path(const rs_mailbox *mb)
{
	return mb->path;
}

const rs_stats *rs_get_stats(const rs_mailbox *mb)
{
	return &mb->stats;
}
