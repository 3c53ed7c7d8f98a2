/* The file a run's --history goes to (campaign.h): one opening for the
 * simulated campaign and the wire driver alike. */
#include "campaign.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { HISTORY_BUFFER = 256 * 1024 };

int rt_history_file_open(rt_history_file *hf, const char *path)
{
	hf->f = NULL;
	hf->buf = NULL;
	if (path == NULL)
		return 0;
	if ((hf->f = fopen(path, "w")) == NULL) {
		cm_error("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	hf->buf = cm_xmalloc(HISTORY_BUFFER);
	setvbuf(hf->f, hf->buf, _IOFBF, HISTORY_BUFFER);
	return 0;
}

int rt_history_file_close(rt_history_file *hf)
{
	int rc = hf->f != NULL && fclose(hf->f) != 0 ? -1 : 0;
	free(hf->buf); /* after fclose: stdio writes from it until then */
	hf->f = NULL;
	hf->buf = NULL;
	return rc;
}
