/* The transaction log: record format, scanning, commit and rotation.
 *
 * Header:  "RLOG1 <indexid> <log_seq> <uidvalidity> <highestmodseq>\n"
 * Record:  "<T> <body> <crc32 as 8 hex digits>\n", T one of
 *   A  <uid> <name> (<flags>) ...            append (one record per command)
 *   F  <uidset> +(<flags>) -(<flags>|*)      flag change as added/removed sets
 *   F  <uidset> =(<flags>)                   final state (flags-last-writer)
 *   E  <uidset>                              expunge
 *   S  <uid> <modseq> <name> (<flags>)       snapshot after rotation/rebuild
 *   T  <lo>:<hi> <modseq>                    expunge remembered for QRESYNC
 *   V  <uid> <modseq>                        missing UIDs below uid vanished
 *   M  <uidset> <dst-path> <first-copy-name>  MOVE intent, before the copies
 *   X  <uidset>                              MOVE intent abandoned
 * A, F and E may end with " @<replica>": the change came from that replica
 * (docs/replication.md), so the sync agent does not ship it back.
 * The body is fsynced before the "\n" is written, so a terminated record is
 * always durable: readers never see a change a crash can take back. */
#include "rs_private.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t rs_modseq_make(uint32_t indexid, uint32_t log_seq, uint64_t offset)
{
	return (((uint64_t)indexid + log_seq) << 32) | (offset & 0xffffffffu);
}

static bool record_type_ok(char t)
{
	return t != '\0' && strchr("AFESTVMX", t) != NULL;
}

/* Checks "T body crc" (no newline). Returns true when well formed. */
static bool record_check(const char *p, size_t len)
{
	if (len < 12 || !record_type_ok(p[0]) || p[1] != ' ' || p[len - 9] != ' ')
		return false;
	uint32_t crc = 0;
	for (size_t i = len - 8; i < len; i++) {
		char c = p[i];
		uint32_t v;
		if (c >= '0' && c <= '9')
			v = (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = (uint32_t)(c - 'a' + 10);
		else
			return false;
		crc = crc << 4 | v;
	}
	return rs_crc32(p, len - 9) == crc;
}

/* Scans records in data[0..len) found at file offset base_off. */
static rs_err scan_records(const char *data, size_t len, uint64_t base_off,
			   rs_log_cb *cb, void *ctx, uint64_t *valid_r,
			   uint64_t *durable_r, const char **err_r)
{
	size_t pos = 0;
	*valid_r = *durable_r = 0;
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - data) : len;
		bool ok = record_check(data + pos, end - pos);
		if (nl == NULL) {
			/* Unterminated tail: a commit in progress, or fsynced
			 * but not yet terminated when the writer died. */
			*durable_r = ok ? len : pos;
			return RS_OK;
		}
		if (!ok) {
			*err_r = "log record fails its checksum or syntax";
			return RS_ECORRUPT;
		}
		rs_log_record rec = {
			.type = data[pos],
			.offset = base_off + pos,
			.body = data + pos + 2,
			.body_len = end - pos - 11,
		};
		if (cb != NULL && cb(ctx, &rec) != 0) {
			*err_r = "log record body does not parse";
			return RS_ECORRUPT;
		}
		pos = end + 1;
		*valid_r = *durable_r = pos;
	}
	return RS_OK;
}

/* Parses the header line; returns its length or 0 if bad. */
static size_t parse_header(const char *data, size_t len, uint32_t *indexid,
			   uint32_t *log_seq, uint32_t *uidvalidity,
			   uint64_t *highest)
{
	const char *nl = memchr(data, '\n', len);
	char line[128];
	if (nl == NULL || (size_t)(nl - data) >= sizeof(line))
		return 0;
	memcpy(line, data, (size_t)(nl - data));
	line[nl - data] = '\0';
	char magic[8], tail;
	unsigned long long a, b, c, d;
	if (sscanf(line, "%7s %llu %llu %llu %llu%c", magic, &a, &b, &c, &d,
		   &tail) != 5 || strcmp(magic, RS_LOG_MAGIC) != 0)
		return 0;
	if (a + b >= (1ull << 31) || b == 0 || c == 0 || c > UINT32_MAX ||
	    d >= (1ull << 63))
		return 0;
	*indexid = (uint32_t)a;
	*log_seq = (uint32_t)b;
	*uidvalidity = (uint32_t)c;
	*highest = d;
	return (size_t)(nl - data) + 1;
}

rs_err rs_log_scan(const char *data, size_t len, uint32_t *indexid_r,
		   uint32_t *log_seq_r, uint32_t *uidvalidity_r,
		   rs_log_cb *cb, void *ctx, uint64_t *valid_len_r,
		   uint64_t *durable_len_r, const char **err_r)
{
	uint64_t highest;
	*valid_len_r = *durable_len_r = 0;
	size_t h = parse_header(data, len, indexid_r, log_seq_r, uidvalidity_r,
				&highest);
	if (h == 0) {
		*err_r = "log header missing or malformed";
		return RS_ECORRUPT;
	}
	uint64_t valid, durable;
	rs_err err = scan_records(data + h, len - h, h, cb, ctx, &valid,
				  &durable, err_r);
	*valid_len_r = h + valid;
	*durable_len_r = h + durable;
	return err;
}

/* ---- flag lists in records: "(\Seen $Junk)" ---- */

void rs_format_flags(cm_buf *b, cm_flags flags)
{
	cm_buf_putc(b, '(');
	cm_flags_format(b, flags);
	cm_buf_putc(b, ')');
}

int rs_parse_flags(const char **p, const char *end, cm_flags *flags_r)
{
	const char *s = *p;
	if (s >= end || *s != '(')
		return -1;
	const char *close = memchr(s, ')', (size_t)(end - s));
	if (close == NULL)
		return -1;
	if (cm_flags_parse(s, (size_t)(close - s + 1), flags_r, NULL) < 0)
		return -1;
	*p = close + 1;
	return 0;
}

/* ---- store state sync: read new terminated records ---- */

struct apply_ctx {
	rs_mailbox *mb;
	uint64_t base;
};

static int apply_cb(void *ctx, const rs_log_record *rec)
{
	struct apply_ctx *a = ctx;
	a->mb->stats.records_read++;
	return rs_state_apply(a->mb, rec, a->base);
}

static rs_err log_reopen(rs_mailbox *mb)
{
	rs_fs *fs = mb->fs;
	rs_fs_stat st;
	if (mb->log_fd >= 0)
		fs->ops->close(fs, mb->log_fd);
	mb->log_fd = fs->ops->open(fs, mb->p_log, RS_O_APPEND);
	if (mb->log_fd < 0) {
		int r = mb->log_fd;
		mb->log_fd = -1;
		if (r == -ENOENT)
			return rs_fail(mb, RS_ECORRUPT, "%s: log missing", mb->path);
		return rs_fail(mb, rs_err_from_errno(r), "%s: cannot open log",
			       mb->path);
	}
	int r = fs->ops->fstat(fs, mb->log_fd, &st);
	if (r < 0)
		return rs_fail(mb, RS_EFAIL, "%s: cannot stat log", mb->path);
	rs_state_reset(mb);
	mb->log_ino = st.ino;
	mb->log_off = 0;
	mb->g_log_synced = 0;
	return RS_OK;
}

static rs_err read_range(rs_mailbox *mb, uint64_t off, uint64_t len)
{
	cm_buf_clear(&mb->rbuf);
	cm_buf_reserve(&mb->rbuf, len);
	uint64_t got = 0;
	while (got < len) {
		ssize_t n = mb->fs->ops->pread(mb->fs, mb->log_fd,
					       mb->rbuf.data + got, len - got,
					       off + got);
		if (n < 0)
			return rs_fail(mb, RS_EFAIL, "%s: log read failed",
				       mb->path);
		if (n == 0)
			break;
		got += (uint64_t)n;
	}
	mb->rbuf.len = got;
	mb->rbuf.data[got] = '\0';
	return RS_OK;
}

/* S3: rbuf held the log from offset start; the store state now ends at log_off,
 * which must end a record. */
static bool view_ends_record(const rs_mailbox *mb, uint64_t start)
{
	return mb->log_off == start || (mb->log_off > start &&
		mb->log_off - start <= mb->rbuf.len &&
		mb->rbuf.data[mb->log_off - start - 1] == '\n');
}

/* A sync from the log's start (rbuf holds the whole log): the header,
 * then the records, from the view another handle parsed from the same
 * bytes when there is one (view_cache.c). *valid_r and *durable_r count
 * from the header's end, as a full replay would; *restored_r is the
 * remembered prefix used (0: none). On a bad header: RS_ECORRUPT with
 * *why_r NULL (rs_fail said why). */
static rs_err sync_from_header(rs_mailbox *mb, uint64_t *restored_r,
			       uint64_t *valid_r, uint64_t *durable_r,
			       const char **why_r)
{
	uint32_t indexid, seq, uv;
	uint64_t highest;
	*valid_r = *durable_r = 0;
	size_t h = parse_header(mb->rbuf.data, mb->rbuf.len, &indexid, &seq,
				&uv, &highest);
	if (h == 0)
		return rs_fail(mb, RS_ECORRUPT, "%s: log header malformed",
			       mb->path);
	uint64_t from = rs_view_restore(mb, mb->rbuf.data, mb->rbuf.len);
	*restored_r = from;
	RS_ASSERT(from == 0 || (from >= h && mb->indexid == indexid &&
				mb->log_seq == seq && mb->uidvalidity == uv),
		  "a remembered view was parsed from this very header");
	mb->indexid = indexid;
	mb->log_seq = seq;
	mb->uidvalidity = uv;
	mb->highestmodseq = CM_MAX(mb->highestmodseq, highest);
	mb->log_off = h;
	if (from == 0)
		from = h;
	struct apply_ctx a = {mb, (uint64_t)indexid + seq};
	rs_err err = scan_records(mb->rbuf.data + from, mb->rbuf.len - from,
				  from, apply_cb, &a, valid_r, durable_r, why_r);
	*valid_r += from - h;
	*durable_r += from - h;
	return err;
}

rs_err rs_state_sync(rs_mailbox *mb)
{
	rs_fs_stat st;
	int r = mb->fs->ops->stat(mb->fs, mb->p_log, &st);
	if (r == -ENOENT)
		return rs_fail(mb, RS_ECORRUPT, "%s: log missing", mb->path);
	if (r < 0)
		return rs_fail(mb, RS_EFAIL, "%s: cannot stat log", mb->path);
	if (mb->log_fd < 0 || st.ino != mb->log_ino) {
		rs_err err = log_reopen(mb);
		if (err != RS_OK)
			return err;
		/* The path may have been replaced between stat and open. */
		r = mb->fs->ops->fstat(mb->fs, mb->log_fd, &st);
		if (r < 0)
			return rs_fail(mb, RS_EFAIL, "%s: cannot stat log", mb->path);
	}
	mb->log_size = st.size;
	if (st.size < mb->log_off)
		return rs_fail(mb, RS_ECORRUPT, "%s: log shrank under a reader",
			       mb->path);
	/* A log always starts with its header (written whole and fsynced
	 * before the rename that installs it): an empty one is damage. */
	if (st.size == 0)
		return rs_fail(mb, RS_ECORRUPT, "%s: log empty", mb->path);
	if (st.size == mb->log_off) {
		mb->log_durable = mb->log_off;
		return RS_OK;
	}
	rs_err err = read_range(mb, mb->log_off, st.size - mb->log_off);
	if (err != RS_OK)
		return err;
	const char *why = NULL;
	uint64_t valid, durable, restored = 0, anomalies = mb->stats.uidlist_anomalies;
	uint64_t gen = mb->generation, start = mb->log_off;
	if (start == 0) {
		err = sync_from_header(mb, &restored, &valid, &durable, &why);
		if (err == RS_ECORRUPT && why == NULL)
			return err; /* the header: rs_fail said why */
	} else {
		struct apply_ctx a = {mb, (uint64_t)mb->indexid + mb->log_seq};
		err = scan_records(mb->rbuf.data, mb->rbuf.len, mb->log_off,
				   apply_cb, &a, &valid, &durable, &why);
	}
	if (err != RS_OK)
		return rs_fail(mb, err, "%s: %s at offset %" PRIu64, mb->path,
			       why, mb->log_off + valid);
	mb->log_off += valid;
	RS_ASSERT(valid == 0 || view_ends_record(mb, start),
		  "S3 a reader's store state ends on a terminated record");
	mb->log_durable = mb->log_off + (durable - valid);
	if (valid > 0)
		mb->generation = gen + 1;
	if (start == 0)
		rs_view_remember(mb, mb->rbuf.data, restored,
				 mb->stats.uidlist_anomalies - anomalies);
	return RS_OK;
}

/* ---- commit ---- */

rs_err rs_log_commit(rs_mailbox *mb, char type, const cm_buf *body,
		     uint64_t *modseq_r)
{
	rs_fs *fs = mb->fs;
	if (!mb->locked || mb->log_off != mb->log_size)
		cm_panic("rs_log_commit: not locked or store state behind the log");
	/* No rotation here: it rewrites the UID list, and a writer between
	 * its UID lines and this commit (COPY, delivery) would lose its
	 * files to the rollback of uncommitted ones. rs_write_begin rotates. */
	cm_buf *w = &mb->wbuf;
	cm_buf_clear(w);
	cm_buf_putc(w, type);
	cm_buf_putc(w, ' ');
	cm_buf_append(w, body->data, body->len);
	if (mb->origin != 0 && (type == 'A' || type == 'F' || type == 'E'))
		cm_buf_printf(w, " @%" PRIu32, mb->origin);
	cm_buf_printf(w, " %08x", rs_crc32(w->data, w->len));
	uint64_t off = mb->log_off;
	if (off + w->len + 1 > 0xffffffffu)
		return rs_fail(mb, RS_EFAIL, "log too large to rotate");

	ssize_t n = fs->ops->append(fs, mb->log_fd, w->data, w->len);
	if (n < 0) {
		/* Unterminated garbage is invisible; cut it for tidiness. */
		fs->ops->truncate(fs, mb->log_fd, off);
		return rs_fail(mb, rs_err_from_errno((int)n), "log append failed");
	}
	if (fs->ops->fsync(fs, mb->log_fd) < 0)
		return rs_fail(mb, RS_EUNKNOWN, "log fsync failed");
	mb->g_log_synced = off + w->len;
	RS_ASSERT(mb->g_log_synced >= off + w->len,
		  "S2 a record's body is fsynced before its terminator");
	if (fs->ops->append(fs, mb->log_fd, "\n", 1) < 0)
		return rs_fail(mb, RS_EUNKNOWN, "log terminator write failed");

	rs_log_record rec = {
		.type = type, .offset = off, .body = w->data + 2,
		.body_len = w->len - 11,
	};
	mb->log_off = mb->log_size = mb->log_durable = off + w->len + 1;
	if (rs_state_apply(mb, &rec, (uint64_t)mb->indexid + mb->log_seq) != 0)
		cm_panic("rs_log_commit: own record does not parse: %.*s",
			 (int)w->len, w->data);
	mb->g_ul_pending = false; /* the record commits the writer's UID lines */
	mb->generation++;
	mb->stats.records_written++;
	*modseq_r = (type == 'S' || type == 'T' || type == 'V')
			    ? mb->highestmodseq
			    : rs_modseq_make(mb->indexid, mb->log_seq, off);
	return RS_OK;
}

/* ---- new log: rotation and rebuild ---- */

static void add_record(cm_buf *out, const cm_buf *rec)
{
	size_t start = out->len;
	cm_buf_append(out, rec->data, rec->len);
	cm_buf_printf(out, " %08x\n", rs_crc32(out->data + start, rec->len));
}

/* Snapshot of the store state as S/T/V records. With reassign, every message and
 * the vanished floor get fresh modseqs from the new base (a rebuild). */
static void snapshot(rs_mailbox *mb, cm_buf *out, uint32_t indexid,
		     uint32_t log_seq, bool reassign)
{
	cm_buf rec = {0};
	for (size_t i = 0; i < mb->n; i++) {
		const rs_msg *m = &mb->msgs[i];
		uint64_t modseq = reassign ? rs_modseq_make(indexid, log_seq, out->len)
					   : m->modseq;
		cm_buf_clear(&rec);
		cm_buf_printf(&rec, "S %" PRIu32 " %" PRIu64 " %s ", m->uid, modseq,
			      m->name);
		rs_format_flags(&rec, m->flags);
		add_record(out, &rec);
	}
	if (!reassign) {
		for (size_t i = 0; i < mb->ntombs; i++) {
			cm_buf_clear(&rec);
			cm_buf_printf(&rec, "T %" PRIu32 ":%" PRIu32 " %" PRIu64,
				      mb->tombs[i].lo, mb->tombs[i].hi,
				      mb->tombs[i].modseq);
			add_record(out, &rec);
		}
	}
	/* After a rebuild the V record also carries the new base, so that
	 * HIGHESTMODSEQ rises even in an empty mailbox. */
	uint32_t floor_uid = reassign ? CM_MAX(mb->nextuid, 1u) : mb->floor_uid;
	if (reassign || (floor_uid > 1 && mb->floor_modseq > 0)) {
		uint64_t modseq = reassign ? rs_modseq_make(indexid, log_seq, out->len)
					   : mb->floor_modseq;
		cm_buf_clear(&rec);
		cm_buf_printf(&rec, "V %" PRIu32 " %" PRIu64, floor_uid, modseq);
		add_record(out, &rec);
	}
	cm_buf_free(&rec);
}

rs_err rs_log_write_new(rs_mailbox *mb, uint32_t indexid, uint32_t log_seq,
			bool reassign)
{
	uint64_t base = (uint64_t)indexid + log_seq;
	if (base >= (1ull << 31))
		return rs_fail(mb, RS_EFAIL, "modseq base exhausted");
	RS_ASSERT(mb->locked, "S4 a new log is written under the lock");
	RS_ASSERT(reassign || base > (uint64_t)mb->indexid + mb->log_seq,
		  "S8 rotation raises the modseq base");
	/* The UID list remembers the highest base ever used, so a rebuild
	 * after losing the log still starts above it (docs/design.md#modseq). */
	if (base > mb->ul_floor) {
		rs_err err = rs_uidlist_rewrite(mb, base);
		if (err != RS_OK)
			return err;
	}
	RS_ASSERT(mb->ul_floor >= base,
		  "S8 the UID list's floor covers a log's base before the log exists");
	cm_buf out = {0};
	cm_buf_printf(&out, "%s %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu64 "\n",
		      RS_LOG_MAGIC, indexid, log_seq, mb->uidvalidity,
		      reassign ? 0 : mb->highestmodseq);
	snapshot(mb, &out, indexid, log_seq, reassign);
	int r = rs_write_file_synced(mb->fs, mb->p_log, out.data, out.len);
	cm_buf_free(&out);
	if (r == 0)
		r = mb->fs->ops->fsync_dir(mb->fs, mb->path);
	if (r < 0)
		return rs_fail(mb, rs_err_from_errno(r), "%s: writing new log failed",
			       mb->path);
	/* Re-read what we wrote: the store state is always what the log says. */
	mb->log_ino = 0;
	rs_err err = rs_state_sync(mb);
	if (err != RS_OK)
		return err;
	if (mb->log_off != mb->log_size)
		cm_panic("new log not fully consumed");
	return RS_OK;
}

rs_err rs_log_maybe_rotate(rs_mailbox *mb)
{
	/* Count only what was appended since the snapshot: a big mailbox's
	 * snapshot alone may exceed the threshold. Offsets must stay 32-bit. */
	if (mb->log_off - CM_MIN(mb->snap_end, mb->log_off) < mb->opts.log_rotate_bytes &&
	    mb->log_off < 0xc0000000u)
		return RS_OK;
	return rs_rotate_log(mb);
}

rs_err rs_rotate_log(rs_mailbox *mb)
{
	bool was_locked = mb->locked;
	rs_err err = was_locked ? RS_OK : rs_write_begin(mb);
	if (err != RS_OK)
		return err;
	mb->stats.rotations++;
	err = rs_log_write_new(mb, mb->indexid, mb->log_seq + 1, false);
	if (!was_locked)
		rs_write_end(mb);
	return err;
}
