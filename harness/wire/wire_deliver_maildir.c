/* The raw Maildir drop (`--deliver maildir:DIR`): a delivery made from
 * outside the server, the way any Maildir MDA makes one (docs/design.md,
 * "delivery": the case of someone else delivering into the folder). The
 * message is written to a new file in the mailbox's tmp/, fsynced, and
 * renamed into new/; the server must find it there on its own. The
 * delivery is acknowledged once the rename is done (and new/ fsynced):
 * from then on the message is the server's to keep. Synchronous: a local
 * write of a few kilobytes does not stall the other connections long. */
#include "wire_private.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Readable by a server that runs as another user (Dovecot drops to its
 * own): the file is the test's message, nothing secret. */
#define DROP_MODE 0644

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* DIR/tmp/NAME written and fsynced: 0, or -1 with errno (nothing left). */
static int write_tmp(const char *path, const cm_buf *msg)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, DROP_MODE);
	if (fd < 0)
		return -1;
	if (write_all(fd, msg->data, msg->len) < 0 || fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlink(path);
		errno = e;
		return -1;
	}
	return close(fd);
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	close(fd);
	return r;
}

/* The mailbox's directory, from the template (or DIR/%p). */
static int mailbox_dir(rt_wire_deliverer *d, cm_buf *dir, cm_err *err)
{
	const char *t = d->spec.dir;
	cm_buf tmpl = {0};
	if (strchr(t, '%') == NULL) {
		cm_buf_printf(&tmpl, "%s/%%p", t);
		t = tmpl.data;
	}
	int rc = rt_deliver_expand(t, d->w->setup, d->cl->op.mailbox, false, dir, err);
	cm_buf_free(&tmpl);
	return rc;
}

void rt_wire_deliver_maildir(rt_wire_deliverer *d, const cm_buf *msg)
{
	cm_buf dir = {0}, tmp = {0}, dst = {0};
	cm_err err = {{0}};
	if (mailbox_dir(d, &dir, &err) != 0) {
		rt_wire_deliver_end(d, MODEL_REPLY_NO, err.text);
		cm_buf_free(&dir);
		return;
	}
	/* A Maildir name: unique by time, pid and a counter; no ':' or '/'. */
	uint64_t t = cm_wall_ns();
	char name[96];
	snprintf(name, sizeof(name), "%" PRIu64 ".M%" PRIu64 "P%dQ%" PRIu64 ".ratchet",
		 t / 1000000000u, t % 1000000000u / 1000u, (int)getpid(), ++d->seq);
	cm_buf_printf(&tmp, "%s/tmp/%s", dir.data, name);
	cm_buf_printf(&dst, "%s/new/%s", dir.data, name);
	char text[200];
	if (write_tmp(tmp.data, msg) < 0) {
		snprintf(text, sizeof(text), "writing %.120s: %s", tmp.data, strerror(errno));
		rt_wire_deliver_end(d, MODEL_REPLY_NO, text);
	} else if (rename(tmp.data, dst.data) < 0) {
		snprintf(text, sizeof(text), "renaming into %.120s: %s", dst.data, strerror(errno));
		unlink(tmp.data);
		rt_wire_deliver_end(d, MODEL_REPLY_NO, text);
	} else {
		/* The rename is the commit: an fsync failure of new/ after it
		 * leaves the message there until a crash, which we do not
		 * make; it is reported, not counted as a refusal. */
		cm_buf_printf(&dir, "/new");
		bool synced = fsync_dir(dir.data) == 0;
		cm_buf_clear(&dir);
		cm_buf_printf(&dir, "dropped into new/%s", synced ? "" : " (new/ not fsynced)");
		rt_wire_deliver_end(d, MODEL_REPLY_OK, dir.data);
	}
	cm_buf_free(&dir);
	cm_buf_free(&tmp);
	cm_buf_free(&dst);
}
