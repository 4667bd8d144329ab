// The system OpenSSL (Debian's libssl-dev, OpenSSL 3.0.x) for WharfTLS.
// OpenSSL 3 spells several calls as macros over SSL_ctrl/BIO_ctrl/CRYPTO_get_ex_new_index, which Swift
// cannot import; each gets a static inline wrapper here, prefixed `wharf_`.
#ifndef WHARF_COPENSSL_SHIM_H
#define WHARF_COPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/opensslv.h>

static inline int wharf_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

static inline int wharf_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}

static inline long wharf_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}

static inline long wharf_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}

static inline int wharf_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

static inline int wharf_SSL_get_ex_new_index(void) {
    return SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static inline size_t wharf_BIO_ctrl_pending(BIO *bio) {
    return BIO_ctrl_pending(bio);
}

/// A memory BIO that reports "retry" (not EOF) when empty, so SSL_read/SSL_do_handshake answer
/// SSL_ERROR_WANT_READ until more bytes are written into it. (That is BIO_s_mem's default; set explicitly.)
static inline BIO *wharf_BIO_new_retrying_mem(void) {
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio != NULL) {
        BIO_set_mem_eof_return(bio, -1);
    }
    return bio;
}

/// Refuse server-initiated TLS 1.2 renegotiation: the handler then never sees SSL_write ask for a read.
static inline void wharf_SSL_CTX_disable_renegotiation(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
}

static inline const char *wharf_OpenSSL_version_text(void) {
    return OpenSSL_version(OPENSSL_VERSION);
}

#endif
