/* The mailbox namespace of a real root, as ratchet-imapd serves it: LIST
 * shows and DELETE accepts only what rs_namespace_exists calls a mailbox (a
 * real directory with tmp, new and cur), and nothing reached through a
 * symbolic link is ever removed. Before: a plain directory under the root
 * was listed and deleted, a link to a directory outside was followed by
 * DELETE, emptying that directory. */
#include "rs_session.h"

#include "cm_test.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[64];

static const char *at(const char *rel)
{
	static char ring[8][256];
	static unsigned k;
	char *b = ring[k++ % 8];
	snprintf(b, sizeof(ring[0]), "%s/%s", base, rel);
	return b;
}

static void put_file(const char *path)
{
	FILE *f = fopen(path, "w");
	REQUIRE(f != NULL);
	fputs("keep me\n", f);
	fclose(f);
}

static bool present(const char *path)
{
	struct stat sb;
	return lstat(path, &sb) == 0;
}

static void test_namespace(void)
{
	rs_fs *fs = rs_posixfs_new();
	REQUIRE(mkdir(at("root"), 0700) == 0 && mkdir(at("outside"), 0700) == 0);
	put_file(at("outside/precious"));
	REQUIRE(rs_namespace_init(fs, at("root")) == RS_OK);
	REQUIRE(rs_namespace_create_mailbox(fs, at("root"), "Real") == RS_OK);
	REQUIRE(rs_namespace_create_mailbox(fs, at("root"), "Other") == RS_OK);
	/* A mailbox outside the root, linked in: looks complete through it. */
	REQUIRE(rs_create(fs, at("away"), 0) == RS_OK);
	put_file(at("away/cur/mail"));
	REQUIRE(symlink(at("away"), at("root/Linked")) == 0);
	REQUIRE(mkdir(at("root/Plain"), 0700) == 0);
	put_file(at("root/Plain/file"));
	/* A link planted inside a mailbox, to a directory outside. */
	REQUIRE(symlink(at("outside"), at("root/Real/cur/evil")) == 0);
	/* A mailbox whose cur is a link: not a mailbox of the store. */
	REQUIRE(rename(at("root/Other/cur"), at("othercur")) == 0);
	REQUIRE(symlink(at("othercur"), at("root/Other/cur")) == 0);

	CHECK(rs_namespace_exists(fs, at("root"), "Real"));
	CHECK(!rs_namespace_exists(fs, at("root"), "Plain"));
	CHECK(!rs_namespace_exists(fs, at("root"), "Linked"));
	CHECK(!rs_namespace_exists(fs, at("root"), "Other"));
	CHECK_EQ(rs_namespace_delete_mailbox(fs, at("root"), "Plain"), RS_ENOENT);
	CHECK(present(at("root/Plain/file")));
	CHECK_EQ(rs_namespace_delete_mailbox(fs, at("root"), "Linked"), RS_ENOENT);
	CHECK(present(at("away/cur/mail")));
	CHECK_EQ(rs_namespace_delete_mailbox(fs, at("root"), "Other"), RS_ENOENT);
	CHECK(present(at("othercur")));
	CHECK_EQ(rs_namespace_delete_mailbox(fs, at("root"), "Real"), RS_OK);
	CHECK(!rs_namespace_exists(fs, at("root"), "Real"));
	CHECK(!present(at("root/Real")));
	CHECK(present(at("outside/precious")));
	rs_fs_destroy(fs);
}

int main(void)
{
	const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(base, sizeof(base), "%s/ratchet-ns-XXXXXX", dir);
	REQUIRE(mkdtemp(base) != NULL);
	RUN(test_namespace);
	char cmd[128];
	/* rm -rf never follows links. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", base);
	TEST_EXIT();
}
