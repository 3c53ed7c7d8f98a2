/* The TLS transport against a TLS server thread in this process on a
 * 127.0.0.1 listener, with a self-signed certificate for IP 127.0.0.1 made
 * here: imaps with megabyte literals both ways through the non-blocking
 * connection (partial writes, WANT_READ / WANT_WRITE), STARTTLS, a
 * STARTTLS reply with bytes injected after the OK in the clear (the
 * handshake must fail, never parse them), an untrusted certificate and
 * one for another address. */
#include "imapc.h"
#include "cm_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define BIG (3u << 20)   /* bytes of each literal: many TLS records */

/* ---- a certificate ------------------------------------------------------------ */
typedef struct cert {
	EVP_PKEY *key;
	X509 *x509;
	char pem_path[64];       /* the certificate as a CA file */
} cert;

static void make_cert(cert *c, const char *san)
{
	c->key = EVP_EC_gen("P-256");
	REQUIRE(c->key != NULL);
	X509 *x = X509_new();
	REQUIRE(x != NULL);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, c->key);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)"ratchet test", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
	REQUIRE(ext != NULL && X509_add_ext(x, ext, -1) == 1);
	X509_EXTENSION_free(ext);
	REQUIRE(X509_sign(x, c->key, EVP_sha256()) > 0);
	c->x509 = x;
	snprintf(c->pem_path, sizeof(c->pem_path), "/tmp/ratchet-test-tls-XXXXXX");
	int fd = mkstemp(c->pem_path);
	REQUIRE(fd >= 0);
	FILE *f = fdopen(fd, "w");
	REQUIRE(f != NULL && PEM_write_X509(f, x) == 1);
	fclose(f);
}

static void free_cert(cert *c)
{
	unlink(c->pem_path);
	X509_free(c->x509);
	EVP_PKEY_free(c->key);
}

/* ---- the server thread ----------------------------------------------------------- */
typedef enum mode { IMAPS, STARTTLS_OK, STARTTLS_INJECT } mode;

typedef struct server {
	int listen_fd;
	mode mode;
	const cert *cert;
	size_t literal_got;      /* bytes of the client's literal received */
	bool saw_logout;
} server;

static void ssl_put(SSL *ssl, const void *p, size_t len)
{
	while (len > 0) {
		int n = SSL_write(ssl, p, (int)CM_MIN(len, (size_t)65536));
		if (n <= 0)
			return;
		p = (const char *)p + n;
		len -= (size_t)n;
	}
}

/* One line (CRLF stripped) from ssl; false at the end. */
static bool ssl_line(SSL *ssl, char *buf, size_t cap)
{
	size_t len = 0;
	while (len + 1 < cap) {
		if (SSL_read(ssl, buf + len, 1) != 1)
			return false;
		if (buf[len] == '\n') {
			while (len > 0 && buf[len - 1] == '\r')
				len--;
			buf[len] = '\0';
			return true;
		}
		len++;
	}
	return false;
}

static void plain_line(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	while (len + 1 < cap && recv(fd, buf + len, 1, 0) == 1 && buf[len] != '\n')
		len++;
	buf[len] = '\0';
}

/* "TAG X-PUT {N+}": reads the literal; "TAG X-GET": sends one. */
static void serve_command(server *s, SSL *ssl, char *line, char *big)
{
	char tag[32], reply[128];
	REQUIRE(sscanf(line, "%31s", tag) == 1);
	const char *cmd = line + strlen(tag) + 1;
	if (strncmp(cmd, "CAPABILITY", 10) == 0) {
		snprintf(reply, sizeof(reply), "* CAPABILITY IMAP4rev1 LITERAL+\r\n");
		ssl_put(ssl, reply, strlen(reply));
	} else if (strncmp(cmd, "X-PUT {", 7) == 0) {
		size_t n = strtoul(cmd + 7, NULL, 10);
		for (size_t k = 0; k < n;) {
			int r = SSL_read(ssl, big, (int)CM_MIN(n - k, (size_t)BIG));
			if (r <= 0)
				return;
			s->literal_got += (size_t)r;
			k += (size_t)r;
		}
		ssl_line(ssl, line, 256); /* the end of the command line */
	} else if (strncmp(cmd, "X-GET", 5) == 0) {
		snprintf(reply, sizeof(reply), "* 1 FETCH (UID 7 BODY[] {%u}\r\n", BIG);
		ssl_put(ssl, reply, strlen(reply));
		ssl_put(ssl, big, BIG);
		ssl_put(ssl, ")\r\n", 3);
	} else if (strncmp(cmd, "LOGOUT", 6) == 0) {
		s->saw_logout = true;
		ssl_put(ssl, "* BYE\r\n", 7);
	}
	snprintf(reply, sizeof(reply), "%s OK done\r\n", tag);
	ssl_put(ssl, reply, strlen(reply));
}

static void *server_main(void *arg)
{
	server *s = arg;
	char line[256];
	int fd = accept(s->listen_fd, NULL, NULL);
	REQUIRE(fd >= 0);
	if (s->mode != IMAPS) {
		static const char inject[] = "S1 OK go\r\n* 1 EXISTS\r\n";
		send(fd, "* OK hi\r\n", 9, MSG_NOSIGNAL);
		plain_line(fd, line, sizeof(line));
		CHECK(strncmp(line, "S1 STARTTLS", 11) == 0);
		size_t n = s->mode == STARTTLS_INJECT ? sizeof(inject) - 1 : 10;
		send(fd, inject, n, MSG_NOSIGNAL);
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	REQUIRE(ctx != NULL && SSL_CTX_use_certificate(ctx, s->cert->x509) == 1 &&
		SSL_CTX_use_PrivateKey(ctx, s->cert->key) == 1);
	SSL *ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	char *big = malloc(BIG);
	REQUIRE(big != NULL);
	memset(big, 'x', BIG);
	if (SSL_accept(ssl) == 1) {
		if (s->mode == IMAPS)
			ssl_put(ssl, "* OK [CAPABILITY IMAP4rev1 LITERAL+] hi\r\n", 41);
		while (!s->saw_logout && ssl_line(ssl, line, sizeof(line)))
			serve_command(s, ssl, line, big);
	}
	free(big);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return NULL;
}

static int listener(char *port, size_t cap)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	REQUIRE(fd >= 0);
	REQUIRE(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	REQUIRE(listen(fd, 4) == 0);
	REQUIRE(getsockname(fd, (struct sockaddr *)&a, &al) == 0);
	snprintf(port, cap, "%u", ntohs(a.sin_port));
	return fd;
}

/* ---- the client side ----------------------------------------------------------------- */

/* Connects as sec asks, trusting ca; the fd or -1 with err. */
static int connect_to(server *s, pthread_t *th, const char *port, imapc_security sec,
		      const cert *ca, imapc_conn_opts *co, cm_err *err)
{
	imapc_tls_cfg cfg = {.ca_file = ca->pem_path};
	imapc_tls_ctx *x = imapc_tls_ctx_new(&cfg, err);
	REQUIRE(x != NULL);
	REQUIRE(pthread_create(th, NULL, server_main, s) == 0);
	int fd = imapc_connect_secure("127.0.0.1", port, sec, x, 5000, co, err);
	/* The session keeps what it needs of the context. */
	imapc_tls_ctx_free(x);
	return fd;
}

static void big_exchange(imapc_client *cl)
{
	imapc_cmd cmd;
	imapc_result res;
	char *data = malloc(BIG);
	REQUIRE(data != NULL);
	memset(data, 'y', BIG);
	imapc_cmd_init(&cmd);
	imapc_cmd_raw(&cmd, "X-PUT ");
	imapc_cmd_literal(&cmd, data, BIG);
	CHECK_EQ(imapc_client_run(cl, &cmd, 0, &res), 0);
	imapc_result_free(&res);
	imapc_cmd_free(&cmd);
	CHECK_EQ(imapc_client_runf(cl, &res, "X-GET"), 0);
	CHECK_EQ(res.n_untagged, 1);
	if (res.n_untagged == 1) {
		const imapc_body *b = imapc_fetch_message(&res.untagged[0]->fetch);
		CHECK(b != NULL && b->data.len == BIG && b->data.p[BIG - 1] == 'x');
	}
	imapc_result_free(&res);
	cm_err err;
	CHECK_EQ(imapc_client_logout(cl, &err), 0);
	free(data);
}

static void run_session(imapc_security sec, mode m)
{
	cert c;
	char port[16];
	pthread_t th;
	cm_err err = {{0}};
	make_cert(&c, "IP:127.0.0.1");
	server s = {.listen_fd = listener(port, sizeof(port)), .mode = m, .cert = &c};
	imapc_conn_opts co = {0};
	int fd = connect_to(&s, &th, port, sec, &c, &co, &err);
	CHECK(fd >= 0);
	if (fd < 0)
		fprintf(stderr, "  %s\n", err.text);
	CHECK(co.tls != NULL && co.no_greeting == (sec == IMAPC_SEC_STARTTLS));
	imapc_client *cl = fd < 0 ? NULL : imapc_client_new_fd(fd, 10000, &co, &err);
	CHECK(cl != NULL);
	if (cl != NULL) {
		CHECK(imapc_client_caps(cl)->mask & IMAPC_CAP_LITERALPLUS);
		CHECK((imapc_client_greeting(cl) == NULL) == (sec == IMAPC_SEC_STARTTLS));
		big_exchange(cl);
		imapc_client_free(cl);
	}
	pthread_join(th, NULL);
	CHECK_EQ(s.literal_got, BIG);
	close(s.listen_fd);
	free_cert(&c);
}

static void test_imaps(void)
{
	run_session(IMAPC_SEC_TLS, IMAPS);
}

static void test_starttls(void)
{
	run_session(IMAPC_SEC_STARTTLS, STARTTLS_OK);
}

/* A refused connection: the line err gets. */
static void refused(imapc_security sec, mode m, const char *san, bool other_ca,
		    const char *want)
{
	cert c, other;
	char port[16];
	pthread_t th;
	cm_err err = {{0}};
	make_cert(&c, san);
	make_cert(&other, "IP:127.0.0.1");
	server s = {.listen_fd = listener(port, sizeof(port)), .mode = m, .cert = &c};
	imapc_conn_opts co = {0};
	int fd = connect_to(&s, &th, port, sec, other_ca ? &other : &c, &co, &err);
	CHECK_EQ(fd, -1);
	CHECK(co.tls == NULL);
	if (fd >= 0) { /* accepted by mistake: end the server's session */
		imapc_tls_free(co.tls);
		close(fd);
	}
	if (strstr(err.text, want) == NULL)
		fprintf(stderr, "  want \"%s\" in: %s\n", want, err.text);
	CHECK(strstr(err.text, want) != NULL);
	CHECK(strchr(err.text, '\n') == NULL);
	pthread_join(th, NULL);
	close(s.listen_fd);
	free_cert(&c);
	free_cert(&other);
}

static void test_refusals(void)
{
	refused(IMAPC_SEC_TLS, IMAPS, "IP:127.0.0.1", true, "certificate not trusted");
	refused(IMAPC_SEC_TLS, IMAPS, "IP:127.0.0.2", false, "IP address mismatch");
	refused(IMAPC_SEC_TLS, IMAPS, "DNS:localhost", false, "IP address mismatch");
	refused(IMAPC_SEC_STARTTLS, STARTTLS_OK, "IP:127.0.0.1", true, "--tls-ca");
	/* The injected "* 1 EXISTS" reaches the handshake, which fails on it. */
	refused(IMAPC_SEC_STARTTLS, STARTTLS_INJECT, "IP:127.0.0.1", false, "TLS handshake");
}

static void test_bad_ca_file(void)
{
	cm_err err = {{0}};
	imapc_tls_cfg cfg = {.ca_file = "/nonexistent/ca.pem"};
	CHECK(imapc_tls_ctx_new(&cfg, &err) == NULL);
	CHECK(strstr(err.text, "/nonexistent/ca.pem") != NULL);
}

int main(void)
{
	RUN(test_imaps);
	RUN(test_starttls);
	RUN(test_refusals);
	RUN(test_bad_ca_file);
	TEST_EXIT();
}
