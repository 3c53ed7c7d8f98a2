/* The TLS transport (OpenSSL): a context per target (trust store, whether
 * to verify), a session per connection.
 *
 * The handshake is blocking (poll on the non-blocking fd, within the
 * connect timeout) and happens before the connection joins the poll loop;
 * after it, reads and writes never block: WANT_READ / WANT_WRITE become
 * EAGAIN, and the direction the session waits for is kept so that the
 * connection polls for it. */
#include "imapc_int.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct imapc_tls_ctx {
	SSL_CTX *ctx;
	bool insecure;
};

struct imapc_tls {
	SSL *ssl;
	bool read_wants_write;   /* the last read stopped on WANT_WRITE */
	bool write_wants_read;   /* the last write stopped on WANT_READ */
	char error[200];
};

/* The oldest queued OpenSSL error as text ("" if none); clears the queue. */
static void ssl_error_text(char *out, size_t outlen)
{
	unsigned long e = ERR_get_error();
	out[0] = '\0';
	if (e != 0)
		ERR_error_string_n(e, out, outlen);
	ERR_clear_error();
}

imapc_tls_ctx *imapc_tls_ctx_new(const imapc_tls_cfg *cfg, cm_err *err)
{
	assert(cfg != NULL);
	char why[200];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		ssl_error_text(why, sizeof(why));
		cm_err_set(err, "TLS: cannot make a context: %s", why);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* A server closing without close_notify reads as EOF, as over TCP: the
	 * parser already tells a cut response ("mid-response") from a clean
	 * end, and the reason stays "connection closed" or "server said BYE". */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* The output buffer moves (it grows and is compacted) between a write
	 * that stopped and its retry; a short write is fine for the stream. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			      SSL_MODE_ENABLE_PARTIAL_WRITE);
	int ok = cfg->ca_file != NULL
			 ? SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL)
			 : SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1) {
		ssl_error_text(why, sizeof(why));
		cm_err_set(err, "TLS: cannot load %s%s: %s",
			   cfg->ca_file ? "the CA file " : "the system's trust store",
			   cfg->ca_file ? cfg->ca_file : "", why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, cfg->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
	imapc_tls_ctx *x = cm_xcalloc(1, sizeof(*x));
	x->ctx = ctx;
	x->insecure = cfg->insecure;
	return x;
}

void imapc_tls_ctx_free(imapc_tls_ctx *x)
{
	if (x == NULL)
		return;
	SSL_CTX_free(x->ctx);
	free(x);
}

/* The name the certificate must carry: an IP address literal is matched
 * against its IP subjectAltNames, anything else as a DNS name (and sent
 * as SNI). */
static bool set_peer_name(SSL *ssl, const char *host, bool verify)
{
	unsigned char addr[16];
	bool ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
	if (!ip && SSL_set_tlsext_host_name(ssl, host) != 1)
		return false;
	if (!verify)
		return true;
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1
		  : SSL_set1_host(ssl, host) == 1;
}

/* Why the handshake failed, in one line: the certificate check's verdict
 * when that is what failed. */
static void handshake_error(SSL *ssl, int rc, cm_err *err)
{
	char why[200];
	long v = SSL_get_verify_result(ssl);
	int e = SSL_get_error(ssl, rc);
	ssl_error_text(why, sizeof(why));
	if (v != X509_V_OK)
		cm_err_set(err, "TLS handshake: certificate not trusted: %s (give its CA "
			   "with --tls-ca FILE, or --tls-insecure to skip the check)",
			   X509_verify_cert_error_string(v));
	else if (e == SSL_ERROR_SYSCALL && why[0] == '\0')
		cm_err_set(err, "TLS handshake: %s", errno ? strerror(errno)
							    : "connection closed by server");
	else
		cm_err_set(err, "TLS handshake: %s", why[0] ? why : "failed");
}

/* Drives SSL_connect to its end; 1 done, 0 timeout, -1 failed. */
static int drive_handshake(SSL *ssl, int fd, uint64_t deadline_ns)
{
	for (;;) {
		ERR_clear_error();
		int rc = SSL_connect(ssl);
		if (rc == 1)
			return 1;
		int e = SSL_get_error(ssl, rc);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return -1;
		uint64_t now = cm_now_ns();
		if (now >= deadline_ns)
			return 0;
		struct pollfd pfd = {.fd = fd,
				     .events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT};
		int ms = (int)CM_MIN((deadline_ns - now + 999999) / 1000000, 60000);
		if (poll(&pfd, 1, ms) < 0 && errno != EINTR)
			return -1;
	}
}

imapc_tls *imapc_tls_handshake(imapc_tls_ctx *x, int fd, const char *host,
			       uint32_t timeout_ms, cm_err *err)
{
	assert(x != NULL && fd >= 0 && host != NULL);
	SSL *ssl = SSL_new(x->ctx);
	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || !set_peer_name(ssl, host, !x->insecure)) {
		char why[200];
		ssl_error_text(why, sizeof(why));
		cm_err_set(err, "TLS: cannot set up a session for %.100s: %s", host, why);
		SSL_free(ssl);
		return NULL;
	}
	uint64_t deadline = cm_now_ns() + (uint64_t)(timeout_ms ? timeout_ms : 10000) * 1000000;
	errno = 0;
	int rc = drive_handshake(ssl, fd, deadline);
	if (rc <= 0) {
		if (rc == 0)
			cm_err_set(err, "TLS handshake: no answer within %u ms", timeout_ms);
		else
			handshake_error(ssl, rc, err);
		SSL_free(ssl);
		return NULL;
	}
	imapc_tls *t = cm_xcalloc(1, sizeof(*t));
	t->ssl = ssl;
	return t;
}

void imapc_tls_free(imapc_tls *t)
{
	if (t == NULL)
		return;
	/* No close_notify: the connection is being dropped, and a server that
	 * stopped reading must not make this block. */
	SSL_set_quiet_shutdown(t->ssl, 1);
	SSL_free(t->ssl);
	free(t);
}

/* Maps a failed SSL_read/SSL_write: -1 with errno EAGAIN (*want_other
 * says whether it waits for the other direction), or -1 with EIO and the
 * error kept. A clean close_notify reads as EOF (0). */
static ssize_t io_failed(imapc_tls *t, int rc, bool reading, bool *want_other)
{
	int e = SSL_get_error(t->ssl, rc);
	*want_other = false;
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		*want_other = reading ? e == SSL_ERROR_WANT_WRITE : e == SSL_ERROR_WANT_READ;
		errno = EAGAIN;
		return -1;
	}
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	char why[160];
	int saved = errno;
	ssl_error_text(why, sizeof(why));
	if (e == SSL_ERROR_SYSCALL && why[0] == '\0')
		snprintf(t->error, sizeof(t->error), "TLS: %s",
			 saved ? strerror(saved) : "connection closed without close_notify");
	else
		snprintf(t->error, sizeof(t->error), "TLS: %s", why[0] ? why : "error");
	errno = EIO;
	return -1;
}

ssize_t imapc_tls_read(imapc_tls *t, void *buf, size_t len)
{
	assert(len > 0 && len <= INT32_MAX);
	ERR_clear_error();
	int rc = SSL_read(t->ssl, buf, (int)len);
	if (rc > 0) {
		t->read_wants_write = false;
		return rc;
	}
	return io_failed(t, rc, true, &t->read_wants_write);
}

ssize_t imapc_tls_write(imapc_tls *t, const void *buf, size_t len)
{
	assert(len > 0);
	ERR_clear_error();
	int rc = SSL_write(t->ssl, buf, (int)CM_MIN(len, (size_t)INT32_MAX));
	if (rc > 0) {
		t->write_wants_read = false;
		return rc;
	}
	ssize_t r = io_failed(t, rc, false, &t->write_wants_read);
	/* A write never reads as EOF: the peer closing is an error here. */
	if (r == 0) {
		snprintf(t->error, sizeof(t->error), "TLS: closed by server while writing");
		errno = EIO;
		return -1;
	}
	return r;
}

bool imapc_tls_pending(const imapc_tls *t)
{
	return SSL_pending(t->ssl) > 0;
}

bool imapc_tls_read_wants_write(const imapc_tls *t)
{
	return t->read_wants_write;
}

bool imapc_tls_write_wants_read(const imapc_tls *t)
{
	return t->write_wants_read;
}

const char *imapc_tls_error(const imapc_tls *t)
{
	return t->error[0] ? t->error : "TLS: error";
}
