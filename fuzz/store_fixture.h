/* A small mailbox on the in-memory file system, for the store fuzzers: three
 * messages (one flagged), made the same way on every run so that seed files
 * can name its messages. The fuzzer then replaces one of its files. */
#ifndef RATCHET_FUZZ_STORE_FIXTURE_H
#define RATCHET_FUZZ_STORE_FIXTURE_H

#include "fuzz.h"
#include "fuzz_mutant.h"
#include "rs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FX_ROOT "/mail"
#define FX_BOX "/mail/INBOX"
#define FX_UIDLIST FX_BOX "/ratchet-uidlist"
#define FX_LOG FX_BOX "/ratchet-log"
#define FX_UIDVALIDITY 1700000000u
#define FX_PID 4242u

static inline rs_options fx_options(unsigned mutants, bool repair, uint32_t rotate)
{
	return (rs_options){.pid = FX_PID, .host = "fuzz", .mutants = mutants,
			    .lock_timeout_ns = 2000000000ull, .repair = repair,
			    .log_rotate_bytes = rotate};
}

/* Errors must be rs_err codes with a message saying what went wrong. */
static inline void fx_check_err(rs_err err, const char *what, const rs_mailbox *mb,
				const char *msg)
{
	FUZZ_ASSERT((unsigned)err <= (unsigned)RS_EUNKNOWN, "RS-ERR-CODE",
		    "%s returned %d, not an rs_err", what, (int)err);
	FUZZ_ASSERT(rs_strerror(err) != NULL && rs_strerror(err)[0] != '\0',
		    "RS-ERR-CODE", "%s: no text for error %d", what, (int)err);
	if (err == RS_OK)
		return;
	if (mb != NULL)
		msg = rs_last_error(mb);
	FUZZ_ASSERT(msg != NULL && msg[0] != '\0', "RS-ERR-MESSAGE",
		    "%s failed with %s but said nothing", what, rs_strerror(err));
}

static inline void fx_deliver(rs_mailbox *mb, int i, cm_flags flags)
{
	char msg[128];
	int n = snprintf(msg, sizeof(msg),
			 "X-Ratchet-Id: fx-%d\r\nSubject: fixture\r\n\r\nbody %d\r\n", i, i);
	if (rs_append(mb, msg, (size_t)n, flags, NULL, NULL) != RS_OK) {
		fprintf(stderr, "fuzz fixture: append: %s\n", rs_last_error(mb));
		abort();
	}
}

/* The fixture file system: INBOX with UIDs 1..3, UID 2 \Flagged. */
static inline rs_fs *fx_new(void)
{
	rs_fs *fs = rs_memfs_new();
	fs->ops->mkdir(fs, FX_ROOT);
	fs->ops->fsync_dir(fs, "/");
	if (rs_create(fs, FX_BOX, FX_UIDVALIDITY) != RS_OK)
		abort();
	rs_options o = fx_options(0, false, 0);
	rs_mailbox *mb = NULL;
	if (rs_open(fs, FX_BOX, &o, &mb, NULL) != RS_OK)
		abort();
	fx_deliver(mb, 1, 0);
	fx_deliver(mb, 2, 0);
	fx_deliver(mb, 3, CM_FLAG_SEEN);
	cm_uidset two = {0};
	cm_uidset_add(&two, 2);
	rs_store_result r = {0};
	if (rs_store(mb, &two, RS_STORE_ADD, CM_FLAG_FLAGGED, -1, &r) != RS_OK)
		abort();
	rs_store_result_free(&r);
	cm_uidset_free(&two);
	rs_close(mb);
	return fs;
}

/* The largest UID in the store state (0 if empty). */
static inline uint32_t fx_max_uid(const rs_mailbox *mb)
{
	size_t n = rs_count(mb);
	return n ? rs_msg_at(mb, n - 1)->uid : 0;
}

/* The store state is sorted by UID, without duplicates, and no message has a
 * modseq above HIGHESTMODSEQ. */
static inline void fx_check_view(const rs_mailbox *mb, const char *when)
{
	uint32_t prev = 0;
	uint64_t high = rs_highestmodseq(mb);
	for (size_t i = 0; i < rs_count(mb); i++) {
		const rs_msg *m = rs_msg_at(mb, i);
		FUZZ_ASSERT(m->uid > prev, "UID-ASCENDING",
			    "%s: store state has UID %u after %u", when, m->uid, prev);
		FUZZ_ASSERT(m->modseq <= high, "MODSEQ-HIGHEST",
			    "%s: UID %u has modseq %llu above HIGHESTMODSEQ %llu", when,
			    m->uid, (unsigned long long)m->modseq, (unsigned long long)high);
		FUZZ_ASSERT(memchr(m->name, '\0', sizeof(m->name)) != NULL, "RS-NAME",
			    "%s: unterminated name", when);
		prev = m->uid;
	}
}

#endif
