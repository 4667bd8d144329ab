// BoringSSL's AEAD interface (include/openssl/aead.h), as swift-crypto builds it in: its
// CCryptoBoringSSL target is not a product we can import, so these are its declarations, with
// the `CCryptoBoringSSL_` prefix swift-crypto gives every symbol. Nothing is linked here; the
// symbols come from swift-crypto's objects (SSHCiphers depends on CryptoExtras, which links them
// on every platform). Should a swift-crypto release rename them, the build fails at link time,
// never at run time.
//
// Why: its AES-GCM has a VAES/AVX2 path (and AVX-512) that Debian 12's OpenSSL 3.0 lacks: in place,
// 32 KiB per call, 0.14 s per GiB against OpenSSL's 0.29 s on the benchmark machine (AMD EPYC).
#ifndef WHARF_CBORINGSSL_AEAD_H
#define WHARF_CBORINGSSL_AEAD_H

#include <stddef.h>
#include <stdint.h>

typedef struct evp_aead_st EVP_AEAD;
typedef struct evp_aead_ctx_st EVP_AEAD_CTX;

const EVP_AEAD *CCryptoBoringSSL_EVP_aead_aes_128_gcm(void);
const EVP_AEAD *CCryptoBoringSSL_EVP_aead_aes_256_gcm(void);

EVP_AEAD_CTX *CCryptoBoringSSL_EVP_AEAD_CTX_new(const EVP_AEAD *aead, const uint8_t *key, size_t key_len,
                                                size_t tag_len);
void CCryptoBoringSSL_EVP_AEAD_CTX_free(EVP_AEAD_CTX *ctx);

int CCryptoBoringSSL_EVP_AEAD_CTX_seal_scatter(const EVP_AEAD_CTX *ctx, uint8_t *out, uint8_t *out_tag,
                                               size_t *out_tag_len, size_t max_out_tag_len, const uint8_t *nonce,
                                               size_t nonce_len, const uint8_t *in, size_t in_len,
                                               const uint8_t *extra_in, size_t extra_in_len, const uint8_t *ad,
                                               size_t ad_len);

int CCryptoBoringSSL_EVP_AEAD_CTX_open_gather(const EVP_AEAD_CTX *ctx, uint8_t *out, const uint8_t *nonce,
                                              size_t nonce_len, const uint8_t *in, size_t in_len,
                                              const uint8_t *in_tag, size_t in_tag_len, const uint8_t *ad,
                                              size_t ad_len);

#endif
