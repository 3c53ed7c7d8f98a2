/* The UID list: "V1 <uidvalidity> <nextuid> <base-floor>" then "<uid> <name>"
 * lines. Writers append under the lock; compaction rewrites by temp+rename.
 * The parser is lenient where it can be (a torn last line is ignored,
 * out-of-order or duplicate UIDs are repaired and counted) and strict where
 * it must be (header, syntax): it is fed hostile bytes by a fuzzer. */
#include "rs_private.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void rs_uidlist_header(cm_buf *b, uint32_t uidvalidity, uint32_t nextuid,
		       uint64_t floor)
{
	cm_buf_printf(b, "V1 %" PRIu32 " %" PRIu32 " %" PRIu64 "\n", uidvalidity,
		      nextuid, floor);
}

static bool parse_u64(const char **p, const char *end, uint64_t max, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	if (s >= end || *s < '0' || *s > '9')
		return false;
	while (s < end && *s >= '0' && *s <= '9') {
		uint64_t d = (uint64_t)(*s - '0');
		if (x > (max - d) / 10)
			return false;
		x = x * 10 + d;
		s++;
	}
	*p = s;
	*v = x;
	return true;
}

static bool expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return false;
	(*p)++;
	return true;
}

static bool name_ok(const char *s, size_t len)
{
	if (len == 0 || len >= RS_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 0x7f || c == '/' || c == '(' || c == ')')
			return false;
	}
	return true;
}

static void ul_insert(rs_uidlist *ul, uint32_t uid, const char *name, size_t len)
{
	size_t i = ul->n;
	if (ul->n > 0 && ul->e[ul->n - 1].uid >= uid) {
		ul->anomalies++;
		size_t a = 0, b = ul->n;
		while (a < b) {
			size_t m = a + (b - a) / 2;
			if (ul->e[m].uid < uid)
				a = m + 1;
			else
				b = m;
		}
		i = a;
		if (i < ul->n && ul->e[i].uid == uid) {
			memcpy(ul->e[i].name, name, len);
			ul->e[i].name[len] = '\0';
			return;
		}
	}
	CM_GROW(ul->e, ul->cap, ul->n + 1);
	memmove(&ul->e[i + 1], &ul->e[i], (ul->n - i) * sizeof(*ul->e));
	ul->n++;
	ul->e[i].uid = uid;
	memcpy(ul->e[i].name, name, len);
	ul->e[i].name[len] = '\0';
}

/* Parses "<uid> <name>" lines from p to end; stops before a torn line.
 * Without keep, lines are checked and counted as anomalies the same way,
 * but no entry is kept: a line below or at the highest UID so far is one
 * (it is exactly when ul_insert would count it). */
static rs_err parse_lines(rs_uidlist *ul, const char *start, const char *p,
			  const char *end, bool keep, const char **err_r)
{
	uint32_t top = ul->n > 0 ? ul->e[ul->n - 1].uid : 0; /* kept sorted */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break; /* torn append: not part of the list */
		uint64_t uid;
		const char *q = p;
		if (!parse_u64(&q, nl, UINT32_MAX, &uid) || uid == 0 ||
		    !expect(&q, nl, ' ') || !name_ok(q, (size_t)(nl - q))) {
			*err_r = "malformed UID line";
			ul->valid_len = (size_t)(p - start);
			return RS_ECORRUPT;
		}
		if (keep)
			ul_insert(ul, (uint32_t)uid, q, (size_t)(nl - q));
		else if (top > 0 && uid <= top)
			ul->anomalies++;
		top = CM_MAX(top, (uint32_t)uid);
		if (uid >= ul->nextuid)
			ul->nextuid = (uint32_t)CM_MIN(uid + 1, UINT32_MAX);
		p = nl + 1;
	}
	ul->valid_len = (size_t)(p - start);
	return RS_OK;
}

static rs_err parse(const char *data, size_t len, rs_uidlist *out, bool keep,
		    const char **err_r)
{
	const char *p = data, *end = data + len;
	const char *nl = memchr(data, '\n', len);
	uint64_t version, uv, next, floor;
	memset(out, 0, sizeof(*out));
	*err_r = NULL;
	if (nl == NULL || !expect(&p, nl, 'V') ||
	    !parse_u64(&p, nl, UINT32_MAX, &version) || version != 1 ||
	    !expect(&p, nl, ' ') || !parse_u64(&p, nl, UINT32_MAX, &uv) ||
	    uv == 0 || !expect(&p, nl, ' ') ||
	    !parse_u64(&p, nl, UINT32_MAX, &next) || next == 0 ||
	    !expect(&p, nl, ' ') || !parse_u64(&p, nl, (1ull << 31) - 1, &floor) ||
	    p != nl) {
		*err_r = "UID list header missing or malformed";
		return RS_ECORRUPT;
	}
	out->version = (uint32_t)version;
	out->uidvalidity = (uint32_t)uv;
	out->nextuid = (uint32_t)next;
	out->base_floor = floor;
	return parse_lines(out, data, nl + 1, end, keep, err_r);
}

rs_err rs_uidlist_parse(const char *data, size_t len, rs_uidlist *out,
			const char **err_r)
{
	return parse(data, len, out, true, err_r);
}

rs_err rs_uidlist_scan(const char *data, size_t len, rs_uidlist *out,
		       const char **err_r)
{
	return parse(data, len, out, false, err_r);
}

void rs_uidlist_free(rs_uidlist *ul)
{
	free(ul->e);
	memset(ul, 0, sizeof(*ul));
}

const struct rs_uidlist_entry *rs_uidlist_find(const rs_uidlist *ul,
					       const char *name)
{
	for (size_t i = 0; i < ul->n; i++)
		if (strcmp(ul->e[i].name, name) == 0)
			return &ul->e[i];
	return NULL;
}

/* Cuts the file back to its last complete line (a torn append). */
static rs_err cut_torn_tail(rs_mailbox *mb, uint64_t valid_len)
{
	rs_fs *fs = mb->fs;
	int fd = fs->ops->open(fs, mb->p_uidlist, RS_O_APPEND);
	if (fd < 0)
		return rs_fail(mb, RS_EFAIL, "%s: cannot open UID list", mb->path);
	int r = fs->ops->truncate(fs, fd, valid_len);
	if (r == 0)
		r = fs->ops->fsync(fs, fd);
	fs->ops->close(fs, fd);
	if (r < 0)
		return rs_fail(mb, RS_EFAIL, "%s: cannot repair UID list", mb->path);
	mb->stats.repairs++;
	return RS_OK;
}

static rs_err refresh_full(rs_mailbox *mb)
{
	rs_fs_stat st;
	rs_uidlist ul;
	const char *why;
	int r = rs_read_file(mb->fs, mb->p_uidlist, &mb->rbuf, &st);
	if (r == -ENOENT) {
		/* Lost UID list: the log knows every live UID; rewrite. */
		mb->ul_nextuid = mb->nextuid;
		mb->stats.repairs++;
		return rs_uidlist_rewrite(mb, CM_MAX(mb->ul_floor,
				(uint64_t)mb->indexid + mb->log_seq));
	}
	if (r < 0)
		return rs_fail(mb, RS_EFAIL, "%s: cannot read UID list", mb->path);
	rs_err err = rs_uidlist_scan(mb->rbuf.data, mb->rbuf.len, &ul, &why);
	size_t valid = ul.valid_len;
	if (err == RS_OK) {
		mb->stats.uidlist_anomalies += ul.anomalies;
		mb->ul_nextuid = ul.nextuid;
		mb->ul_floor = ul.base_floor;
		mb->ul_ino = st.ino;
		mb->ul_size = valid;
	}
	rs_uidlist_free(&ul);
	if (err != RS_OK)
		return rs_fail(mb, err, "%s/%s: %s at byte %zu", mb->path,
			       RS_UIDLIST, why, valid);
	if (valid < st.size)
		return cut_torn_tail(mb, mb->ul_size);
	return RS_OK;
}

rs_err rs_uidlist_refresh(rs_mailbox *mb)
{
	rs_fs_stat st;
	int r = mb->fs->ops->stat(mb->fs, mb->p_uidlist, &st);
	if (r < 0 || st.ino != mb->ul_ino || st.size < mb->ul_size)
		return refresh_full(mb);
	if (st.size == mb->ul_size)
		return RS_OK;
	/* Only appended since we last looked: parse the new lines. */
	int fd = mb->fs->ops->open(mb->fs, mb->p_uidlist, RS_O_RDONLY);
	if (fd < 0)
		return refresh_full(mb);
	uint64_t len = st.size - mb->ul_size;
	cm_buf_clear(&mb->rbuf);
	cm_buf_reserve(&mb->rbuf, len);
	ssize_t n = mb->fs->ops->pread(mb->fs, fd, mb->rbuf.data, len, mb->ul_size);
	mb->fs->ops->close(mb->fs, fd);
	if (n != (ssize_t)len)
		return refresh_full(mb);
	rs_uidlist ul = {.nextuid = mb->ul_nextuid};
	const char *why;
	rs_err err = parse_lines(&ul, mb->rbuf.data, mb->rbuf.data,
				 mb->rbuf.data + len, false, &why);
	uint32_t next = ul.nextuid;
	size_t valid = ul.valid_len;
	rs_uidlist_free(&ul);
	if (err != RS_OK)
		return refresh_full(mb);
	mb->ul_nextuid = CM_MAX(mb->ul_nextuid, next);
	mb->ul_size += valid;
	if (mb->ul_size < st.size)
		return cut_torn_tail(mb, mb->ul_size);
	return RS_OK;
}

rs_err rs_uidlist_append(rs_mailbox *mb, const cm_buf *lines)
{
	rs_fs *fs = mb->fs;
	RS_ASSERT(mb->locked, "S1 UID lines are appended under the lock");
	mb->g_ul_pending = true; /* even a failed append may leave a line */
	int fd = fs->ops->open(fs, mb->p_uidlist, RS_O_APPEND);
	if (fd < 0)
		return rs_fail(mb, rs_err_from_errno(fd), "%s: cannot open UID list",
			       mb->path);
	ssize_t n = fs->ops->append(fs, fd, lines->data, lines->len);
	int r = n < 0 ? (int)n : fs->ops->fsync(fs, fd);
	fs->ops->close(fs, fd);
	if (r < 0) {
		/* Nothing is committed yet: a torn line is cut by the next
		 * writer, a whole one only spends UIDs. */
		mb->ul_ino = 0;
		return rs_fail(mb, rs_err_from_errno(r), "%s: UID list append failed",
			       mb->path);
	}
	mb->ul_size += lines->len;
	return RS_OK;
}

rs_err rs_uidlist_rewrite(rs_mailbox *mb, uint64_t floor)
{
	rs_fs *fs = mb->fs;
	RS_ASSERT(mb->locked && !mb->g_ul_pending,
		  "S6 the UID list is not rewritten under a writer's uncommitted lines");
	/* Files of uncommitted writers are told apart from foreign drops by
	 * their UID lines, so resolve them before dropping lines. */
	rs_err err = rs_scan_new_locked(mb);
	if (err == RS_OK)
		err = rs_drop_orphans_locked(mb);
	if (err != RS_OK)
		return err;
	/* Unlinks of expunged files must be durable before their lines go. */
	fs->ops->fsync_dir(fs, mb->p_new);
	fs->ops->fsync_dir(fs, mb->p_cur);
	uint32_t next = CM_MAX(mb->ul_nextuid, mb->nextuid);
	cm_buf b = {0};
	rs_uidlist_header(&b, mb->uidvalidity, next, floor);
	for (size_t i = 0; i < mb->n; i++)
		cm_buf_printf(&b, "%" PRIu32 " %s\n", mb->msgs[i].uid,
			      mb->msgs[i].name);
	int r = rs_write_file_synced(fs, mb->p_uidlist, b.data, b.len);
	if (r == 0)
		r = fs->ops->fsync_dir(fs, mb->path);
	size_t len = b.len;
	cm_buf_free(&b);
	if (r < 0)
		return rs_fail(mb, rs_err_from_errno(r), "%s: UID list rewrite failed",
			       mb->path);
	rs_fs_stat st;
	if (fs->ops->stat(fs, mb->p_uidlist, &st) == 0)
		mb->ul_ino = st.ino;
	else
		mb->ul_ino = 0;
	mb->ul_size = len;
	mb->ul_nextuid = next;
	mb->ul_floor = floor;
	return RS_OK;
}
