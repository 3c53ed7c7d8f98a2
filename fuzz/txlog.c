/* Fuzz target: the reference store's transaction log ("ratchet-log"): the
 * reader rs_log_scan, torn-tail recovery, rebuilds and modseqs.
 *
 * Input: one flags byte, then the log image.
 *   flags bit 0  fix the CRC of every terminated record before use (a line
 *                "T body XXXXXXXX\n" gets the right checksum), so that the
 *                fuzzer explores record bodies instead of CRC-32; an
 *                unterminated tail is left as it is
 *   flags bit 1  open with repair (renumber when log and UID list both fail)
 *   flags bit 2  rotate the log every 256 bytes
 *
 *  1. rs_log_scan on the image: never crashes; every record it reports
 *     lies inside the image, has a known type, and valid_len <= durable_len
 *     <= the image's size.
 *  2. The image becomes the ratchet-log of the fixture mailbox (three
 *     messages, store_fixture.h) on the in-memory file system; rs_open,
 *     rs_sync, rs_append. Errors are clean rs_err codes with a message.
 *  3. A rebuild, triggered twice: the log is lost (unlinked) and the same
 *     handle appends again (its write rebuilds from new/ and cur/), then the
 *     log is lost again and a fresh handle opens the mailbox. Across each,
 *     HIGHESTMODSEQ must not go down, nor may a new change's modseq be at
 *     or below it (MODSEQ-REBUILD-MONO). The store trusts the modseqs that
 *     snapshot records carry; an image whose S/T/V modseqs are above the
 *     base its own header implies is not a state the store writes, so the
 *     monotonicity checks apply only when HIGHESTMODSEQ is below the modseq
 *     the store gave the fuzzer's own append.
 *
 * RATCHET_FUZZ_MUTANT=modseq-reset shows the check at work. */
#include "fuzz.h"
#include "rs.h"
#include "store_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned g_mutants;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	g_mutants = fx_mutant_from_env(NULL);
	return 0;
}

/* Rewrites the 8 hex digits ending each terminated line of 12+ bytes
 * whose 9th byte from the end is a space. The header line never has one. */
static void fix_crcs(uint8_t *d, size_t len)
{
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		if (d[i] != '\n')
			continue;
		size_t l = i - start;
		if (l >= 12 && d[i - 9] == ' ') {
			char hex[9];
			snprintf(hex, sizeof(hex), "%08x", rs_crc32(d + start, l - 9));
			memcpy(d + i - 8, hex, 8);
		}
		start = i + 1;
	}
}

typedef struct scan_ctx {
	const char *data;
	size_t len;
	uint64_t records, last_offset;
} scan_ctx;

static int scan_cb(void *ctx, const rs_log_record *rec)
{
	scan_ctx *s = ctx;
	FUZZ_ASSERT(rec->type != '\0' && strchr("AFESTVMX", rec->type) != NULL, "LOG-SCAN",
		    "record of type 0x%02x reported", (unsigned char)rec->type);
	FUZZ_ASSERT(rec->offset < s->len && rec->body >= s->data &&
			    rec->body + rec->body_len <= s->data + s->len,
		    "LOG-SCAN", "record at %llu (body %zu bytes) outside the %zu-byte image",
		    (unsigned long long)rec->offset, rec->body_len, s->len);
	FUZZ_ASSERT(s->records == 0 || rec->offset > s->last_offset, "LOG-SCAN",
		    "record offsets not increasing");
	s->records++;
	s->last_offset = rec->offset;
	return 0;
}

static void check_scan(const uint8_t *img, size_t len)
{
	uint32_t indexid = 0, log_seq = 0, uv = 0;
	uint64_t valid = 0, durable = 0;
	const char *why = NULL;
	scan_ctx s = {(const char *)img, len, 0, 0};
	rs_err err = rs_log_scan((const char *)img, len, &indexid, &log_seq, &uv, scan_cb,
				 &s, &valid, &durable, &why);
	FUZZ_ASSERT(err == RS_OK || err == RS_ECORRUPT, "LOG-SCAN", "result %d", (int)err);
	FUZZ_ASSERT(err == RS_OK || (why != NULL && why[0] != '\0'), "LOG-SCAN",
		    "ECORRUPT without a reason");
	FUZZ_ASSERT(valid <= durable && durable <= len, "LOG-SCAN",
		    "valid %llu, durable %llu, size %zu", (unsigned long long)valid,
		    (unsigned long long)durable, len);
	if (err == RS_OK)
		FUZZ_ASSERT(valid > 0 && img[valid - 1] == '\n', "LOG-SCAN",
			    "valid length %llu does not end a record",
			    (unsigned long long)valid);
}

/* HIGHESTMODSEQ after must be >= before, when before is at most limit, a
 * modseq the store itself made (see the header comment). */
static void check_mono(uint64_t before, uint64_t after, uint64_t limit, const char *when)
{
	if (before == 0 || before > limit)
		return;
	FUZZ_ASSERT(after >= before, "MODSEQ-REBUILD-MONO",
		    "%s: HIGHESTMODSEQ went from %llu down to %llu", when,
		    (unsigned long long)before, (unsigned long long)after);
}

/* A change's modseq must be above HIGHESTMODSEQ before it. */
static void check_above(uint64_t before, uint64_t modseq, uint64_t limit, const char *when)
{
	if (before == 0 || before > limit)
		return;
	FUZZ_ASSERT(modseq > before, "MODSEQ-REBUILD-MONO",
		    "%s: modseq %llu is not above HIGHESTMODSEQ %llu", when,
		    (unsigned long long)modseq, (unsigned long long)before);
}

static void lose_log(rs_fs *fs)
{
	fs->ops->unlink(fs, FX_LOG);
	fs->ops->fsync_dir(fs, FX_BOX);
}

/* The log lost after an append at m1 (HIGHESTMODSEQ h2 then): the next
 * change rebuilds it, through the same handle and then through a fresh
 * one, and modseqs never go back. Closes mb. */
static void check_rebuilds(rs_fs *fs, rs_mailbox *mb, const rs_options *o, uint64_t m1,
			   uint64_t h2)
{
	char *why = NULL;
	/* Rebuild 1: the same handle, which knows the old base. */
	lose_log(fs);
	uint64_t m2 = 0;
	const char msg2[] = "X-Ratchet-Id: fuzz-2\r\n\r\ntwo\r\n";
	rs_err err = rs_append(mb, msg2, sizeof(msg2) - 1, 0, NULL, &m2);
	fx_check_err(err, "rs_append after log loss", mb, NULL);
	if (err == RS_OK) {
		FUZZ_ASSERT(rs_get_stats(mb)->rebuilds > 0, "LOG-REBUILD",
			    "append after losing the log did not rebuild");
		rs_sync(mb, false);
		uint64_t h3 = rs_highestmodseq(mb);
		fx_check_view(mb, "after rebuild");
		check_above(h2, m2, m1, "rebuild (same handle): first change");
		check_mono(h2, h3, m1, "rebuild (same handle)");
		rs_close(mb);
		mb = NULL;

		/* Rebuild 2: a fresh handle, which knows only the UID list's
		 * floor and the clock. */
		lose_log(fs);
		err = rs_open(fs, FX_BOX, o, &mb, &why);
		fx_check_err(err, "rs_open after log loss", NULL, why);
		free(why);
		why = NULL;
		if (err == RS_OK) {
			rs_sync(mb, false);
			uint64_t h4 = rs_highestmodseq(mb);
			fx_check_view(mb, "after reopen");
			/* The rebuild's new base makes HIGHESTMODSEQ rise
			 * even in an empty mailbox. */
			check_above(h3, h4, m2, "rebuild (fresh handle)");
		}
	}
	rs_close(mb);
}

static void check_store(const uint8_t *img, size_t len, uint8_t flags)
{
	rs_fs *fs = fx_new();
	if (rs_memfs_write_file(fs, FX_LOG, img, len) != 0)
		abort();
	rs_options o = fx_options(g_mutants, flags & 2, flags & 4 ? 256 : 0);
	rs_mailbox *mb = NULL;
	char *why = NULL;
	rs_err err = rs_open(fs, FX_BOX, &o, &mb, &why);
	fx_check_err(err, "rs_open", NULL, why);
	free(why);
	why = NULL;
	if (err != RS_OK) {
		rs_fs_destroy(fs);
		return;
	}
	fx_check_view(mb, "after open");
	uint64_t h0 = rs_highestmodseq(mb);
	err = rs_sync(mb, true);
	fx_check_err(err, "rs_sync", mb, NULL);
	uint64_t h1 = rs_highestmodseq(mb);
	fx_check_view(mb, "after sync");

	uint64_t m1 = 0;
	const char msg[] = "X-Ratchet-Id: fuzz-1\r\n\r\none\r\n";
	err = rs_append(mb, msg, sizeof(msg) - 1, 0, NULL, &m1);
	fx_check_err(err, "rs_append", mb, NULL);
	if (err != RS_OK) {
		rs_close(mb);
		rs_fs_destroy(fs);
		return;
	}
	FUZZ_ASSERT(m1 != 0, "MODSEQ-APPEND", "append committed with modseq 0");
	rs_sync(mb, false);
	uint64_t h2 = rs_highestmodseq(mb);
	fx_check_view(mb, "after append");
	/* m1 is a modseq the store made now: nothing it made before is as high. */
	check_mono(h0, h1, m1 - 1, "sync after open");
	check_above(h1, m1, m1 - 1, "append");
	check_mono(h1, h2, m1 - 1, "append");

	check_rebuilds(fs, mb, &o, m1, h2);
	rs_memfs_check(fs, NULL, NULL, NULL);
	rs_fs_destroy(fs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint8_t flags = data[0];
	size_t len = size - 1;
	uint8_t *img = malloc(len ? len : 1);
	memcpy(img, data + 1, len);
	check_scan(img, len);
	if (flags & 1) {
		fix_crcs(img, len);
		check_scan(img, len);
	}
	check_store(img, len, flags);
	free(img);
	return 0;
}
