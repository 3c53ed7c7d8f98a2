/* What both file systems share: call names (for hooks and traces) and
 * destruction through the vtable. */
#include "rs_fs.h"

static const char *const call_names[RS_FS_CALL_COUNT] = {
	[RS_FS_OPEN] = "open",
	[RS_FS_READ] = "read",
	[RS_FS_WRITE] = "write",
	[RS_FS_TRUNCATE] = "truncate",
	[RS_FS_FSYNC] = "fsync",
	[RS_FS_FSTAT] = "fstat",
	[RS_FS_CLOSE] = "close",
	[RS_FS_STAT] = "stat",
	[RS_FS_RENAME] = "rename",
	[RS_FS_LINK] = "link",
	[RS_FS_UNLINK] = "unlink",
	[RS_FS_MKDIR] = "mkdir",
	[RS_FS_RMDIR] = "rmdir",
	[RS_FS_FSYNC_DIR] = "fsync_dir",
	[RS_FS_LIST] = "list",
	[RS_FS_SLEEP] = "sleep",
};

const char *rs_fs_call_name(rs_fs_call call)
{
	/* Values may come from traces or fuzz input: never index blindly. */
	if ((unsigned)call >= RS_FS_CALL_COUNT)
		return "unknown";
	return call_names[call];
}

void rs_fs_destroy(rs_fs *fs)
{
	if (fs == NULL)
		return;
	if (fs->ops == NULL || fs->ops->destroy == NULL)
		cm_panic("rs_fs_destroy: file system without ops");
	for (int i = 0; i < RS_FS_CACHE_COUNT; i++)
		if (fs->cache[i].p != NULL)
			fs->cache[i].free(fs->cache[i].p);
	fs->ops->destroy(fs);
}
