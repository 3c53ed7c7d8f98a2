/* Fuzz target: the reference store's UID list ("ratchet-uidlist").
 *
 *  1. rs_uidlist_parse on the raw bytes: never crashes; on success the
 *     entries are sorted without duplicates, every name is a valid Maildir
 *     base name, nextuid is above every UID, valid_len is within the input
 *     and ends a line; on failure there is an error message.
 *     rs_uidlist_scan (no entries kept) agrees with it on the result and
 *     on every field but the entries.
 *  2. Recovery: the bytes become the ratchet-uidlist of a fixture mailbox
 *     (three messages, see store_fixture.h) on the in-memory file system,
 *     then rs_open (and, if that says ECORRUPT, again with repair),
 *     rs_sync with new/ scanning, rs_recover, rs_append, rs_sync, and a
 *     fresh rs_open as another reader. Every error is a clean rs_err code
 *     with a message; an appended message gets a UID above every UID the
 *     store state had, and is still there for the next reader.
 *
 * RATCHET_FUZZ_MUTANT=name runs the store with a mutant. */
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

/* rs_uidlist_scan gives what rs_uidlist_parse gives, entries aside. */
static void check_scan(const uint8_t *data, size_t size, rs_err err,
		       const rs_uidlist *ul)
{
	rs_uidlist sc;
	const char *why = NULL;
	rs_err e2 = rs_uidlist_scan((const char *)data, size, &sc, &why);
	FUZZ_ASSERT(e2 == err, "UIDLIST-SCAN", "scan says %d, parse %d", (int)e2,
		    (int)err);
	FUZZ_ASSERT(sc.n == 0 && sc.e == NULL, "UIDLIST-SCAN", "scan kept entries");
	if (err == RS_OK)
		FUZZ_ASSERT(sc.nextuid == ul->nextuid && sc.valid_len == ul->valid_len &&
				    sc.anomalies == ul->anomalies &&
				    sc.base_floor == ul->base_floor &&
				    sc.uidvalidity == ul->uidvalidity,
			    "UIDLIST-SCAN", "scan: nextuid %u valid %zu anomalies %u; "
			    "parse: %u %zu %u", sc.nextuid, sc.valid_len, sc.anomalies,
			    ul->nextuid, ul->valid_len, ul->anomalies);
	rs_uidlist_free(&sc);
}

static void check_parse(const uint8_t *data, size_t size)
{
	rs_uidlist ul;
	const char *why = NULL;
	rs_err err = rs_uidlist_parse((const char *)data, size, &ul, &why);
	check_scan(data, size, err, &ul);
	FUZZ_ASSERT(err == RS_OK || err == RS_ECORRUPT, "UIDLIST-PARSE",
		    "unexpected result %d", (int)err);
	if (err != RS_OK) {
		FUZZ_ASSERT(why != NULL && why[0] != '\0', "UIDLIST-PARSE",
			    "ECORRUPT without a reason");
		rs_uidlist_free(&ul);
		return;
	}
	FUZZ_ASSERT(ul.version == 1 && ul.uidvalidity != 0, "UIDLIST-PARSE",
		    "accepted header version %u uidvalidity %u", ul.version, ul.uidvalidity);
	FUZZ_ASSERT(ul.valid_len <= size && ul.valid_len > 0 &&
			    data[ul.valid_len - 1] == '\n',
		    "UIDLIST-PARSE", "valid_len %zu of %zu does not end a line",
		    ul.valid_len, size);
	FUZZ_ASSERT(ul.n <= ul.cap, "UIDLIST-PARSE", "n %zu > cap %zu", ul.n, ul.cap);
	for (size_t i = 0; i < ul.n; i++) {
		const struct rs_uidlist_entry *e = &ul.e[i];
		size_t len = strnlen(e->name, sizeof(e->name));
		FUZZ_ASSERT(len > 0 && len < sizeof(e->name), "UIDLIST-NAME",
			    "entry %zu: name length %zu", i, len);
		FUZZ_ASSERT(strpbrk(e->name, " /()") == NULL, "UIDLIST-NAME",
			    "entry %zu: name \"%s\" accepted", i, e->name);
		FUZZ_ASSERT(e->uid != 0, "UIDLIST-UID", "entry %zu has UID 0", i);
		FUZZ_ASSERT(i == 0 || ul.e[i - 1].uid < e->uid, "UID-ASCENDING",
			    "entries %zu and %zu: UID %u then %u", i - 1, i,
			    ul.e[i - 1].uid, e->uid);
		FUZZ_ASSERT(ul.nextuid > e->uid || ul.nextuid == UINT32_MAX,
			    "UIDLIST-NEXTUID", "nextuid %u not above UID %u", ul.nextuid,
			    e->uid);
	}
	rs_uidlist_free(&ul);
}

static void check_recovery(const uint8_t *data, size_t size)
{
	rs_fs *fs = fx_new();
	if (rs_memfs_write_file(fs, FX_UIDLIST, data, size) != 0)
		abort();
	rs_options o = fx_options(g_mutants, false, 0);
	rs_mailbox *mb = NULL;
	char *why = NULL;
	rs_err err = rs_open(fs, FX_BOX, &o, &mb, &why);
	fx_check_err(err, "rs_open", NULL, why);
	free(why);
	why = NULL;
	if (err == RS_ECORRUPT) {
		o.repair = true;
		err = rs_open(fs, FX_BOX, &o, &mb, &why);
		fx_check_err(err, "rs_open (repair)", NULL, why);
		free(why);
		why = NULL;
	}
	if (err != RS_OK) {
		rs_fs_destroy(fs);
		return;
	}
	fx_check_view(mb, "after open");
	err = rs_sync(mb, true);
	fx_check_err(err, "rs_sync", mb, NULL);
	err = rs_recover(mb);
	fx_check_err(err, "rs_recover", mb, NULL);
	err = rs_sync(mb, false);
	fx_check_err(err, "rs_sync", mb, NULL);
	fx_check_view(mb, "after recover");

	uint32_t before_max = fx_max_uid(mb);
	uint32_t uid = 0;
	const char msg[] = "X-Ratchet-Id: fuzz\r\n\r\nappended by the fuzzer\r\n";
	err = rs_append(mb, msg, sizeof(msg) - 1, CM_FLAG_DRAFT, &uid, NULL);
	fx_check_err(err, "rs_append", mb, NULL);
	bool appended = err == RS_OK;
	if (appended) {
		/* The append synced first, so the store state it saw is at least
		 * what we saw: its UID is above every one of those. */
		FUZZ_ASSERT(uid > before_max, "UID-ASCENDING",
			    "append got UID %u, store state already had %u", uid, before_max);
		err = rs_sync(mb, false);
		fx_check_err(err, "rs_sync", mb, NULL);
		if (err == RS_OK)
			FUZZ_ASSERT(rs_msg_find(mb, uid) != NULL, "APPEND-VISIBLE",
				    "appended UID %u not in the writer's store state", uid);
		fx_check_view(mb, "after append");
	}
	rs_close(mb);

	/* Another reader, later: what was committed is there. */
	o.repair = false;
	err = rs_open(fs, FX_BOX, &o, &mb, &why);
	fx_check_err(err, "rs_open (again)", NULL, why);
	free(why);
	if (err == RS_OK) {
		fx_check_view(mb, "second open");
		if (appended)
			FUZZ_ASSERT(rs_msg_find(mb, uid) != NULL, "STORE-DURABLE",
				    "appended UID %u lost for the next reader", uid);
		rs_close(mb);
	}
	rs_memfs_check(fs, NULL, NULL, NULL);
	rs_fs_destroy(fs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_parse(data, size);
	check_recovery(data, size);
	return 0;
}
