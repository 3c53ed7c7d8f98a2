/* How the target is reached: the transport its URL and options ask for
 * (imaps://, --starttls, plain), the TLS context (--tls-ca,
 * --tls-insecure) and the password (URL, --password-file,
 * RATCHET_PASSWORD). Every connection of a run, the admin's and the
 * virtual clients', comes through rt_wire_connect. */
#include "wire_private.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rt_wire_secure_open(rt_wire_setup *s, const rt_opts *o, cm_err *err)
{
	rt_wire_url *u = &s->url;
	assert(s->tls == NULL);
	if (o->starttls && u->sec == IMAPC_SEC_TLS)
		return cm_err_set(err, "--starttls is for imap:// (%s is TLS already)", u->display);
	if (o->starttls)
		u->sec = IMAPC_SEC_STARTTLS;
	if (u->sec == IMAPC_SEC_PLAIN && (o->tls_ca != NULL || o->tls_insecure))
		return cm_err_set(err, "--tls-ca and --tls-insecure need imaps:// or --starttls");
	if (rt_wire_url_password(u, o->password_file, getenv("RATCHET_PASSWORD"), err) != 0)
		return -1;
	if (u->sec == IMAPC_SEC_PLAIN)
		return 0;
	imapc_tls_cfg cfg = {.ca_file = o->tls_ca, .insecure = o->tls_insecure};
	s->tls = imapc_tls_ctx_new(&cfg, err);
	if (s->tls == NULL)
		return -1;
	if (o->tls_insecure)
		fprintf(stderr, "ratchet: warning: --tls-insecure: the certificate of %s is "
			"not verified (whoever is on the path can read the password)\n",
			u->display);
	return 0;
}

void rt_wire_secure_close(rt_wire_setup *s)
{
	imapc_tls_ctx_free(s->tls);
	s->tls = NULL;
	memset(s->url.pass, 0, sizeof(s->url.pass));
}

int rt_wire_connect(const rt_wire_setup *s, imapc_conn_opts *co, cm_err *err)
{
	assert(s->url.sec == IMAPC_SEC_PLAIN || s->tls != NULL);
	return imapc_connect_secure(s->url.host, s->url.port, s->url.sec, s->tls,
				    s->timeout_ms, co, err);
}

int rt_wire_check_plaintext(const rt_wire_setup *s, const imapc_caps *caps, cm_err *err)
{
	if (s->url.sec != IMAPC_SEC_PLAIN || !(caps->mask & IMAPC_CAP_LOGINDISABLED))
		return 0;
	return cm_err_set(err, "%s refuses to log in over a plain connection "
			  "(LOGINDISABLED): add --starttls, or use imaps://", s->url.display);
}
