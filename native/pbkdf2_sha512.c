/*
 * PBKDF2-HMAC-SHA512 (RFC 8018 §5.2) for one output block, on OpenSSL's SHA-512 block function.
 *
 * Why this exists: the legacy format derives every payload key with 10,000 iterations, and
 * OpenSSL 3's PKCS5_PBKDF2_HMAC (what crypto.pbkdf2 calls) copies three provider digest contexts,
 * with allocations, on every iteration: a third or more of its time. Here the two HMAC pads are hashed
 * once, and each iteration is exactly two SHA-512 compressions of a pre-padded block.
 *
 * The SHA-512 itself is OpenSSL's, the one linked into Node; nothing cryptographic is
 * re-implemented. The JavaScript loader (src/legacy/pbkdf2-sha512.ts) checks this against crypto.pbkdf2
 * before using it, and falls back to crypto.pbkdf2 whenever it is absent or disagrees.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA512_Transform: deprecated in 3.0, still exported by Node. */
#include <node_api.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 128        /* SHA-512 block size */
#define DIGEST 64        /* SHA-512 output size */
#define MAX_INPUT_BYTES 1024   /* passphrase and salt bound; the format uses 32 and 64 bytes */
#define MAX_ITERATIONS 10000000u

/* Writes the chaining value of `c` as the big-endian digest, whatever the host byte order. */
static void store_digest(const SHA512_CTX *c, unsigned char *out) {
  for (int i = 0; i < 8; i++) {
    uint64_t v = c->h[i];
    for (int j = 7; j >= 0; j--) {
      out[i * 8 + j] = (unsigned char)v;
      v >>= 8;
    }
  }
}

static void derive(const unsigned char *pass, size_t pass_len, const unsigned char *salt, size_t salt_len,
                   uint32_t iterations, unsigned char *out, size_t out_len) {
  unsigned char key[BLOCK], pad[BLOCK], block[BLOCK], u[DIGEST], t[DIGEST];
  static const unsigned char first_index[4] = {0, 0, 0, 1};
  SHA512_CTX inner, outer, c;

  memset(key, 0, sizeof key);
  if (pass_len > BLOCK) SHA512(pass, pass_len, key); /* HMAC hashes a key longer than a block */
  else memcpy(key, pass, pass_len);
  for (int i = 0; i < BLOCK; i++) pad[i] = key[i] ^ 0x36;
  SHA512_Init(&inner);
  SHA512_Update(&inner, pad, BLOCK);
  for (int i = 0; i < BLOCK; i++) pad[i] = key[i] ^ 0x5c;
  SHA512_Init(&outer);
  SHA512_Update(&outer, pad, BLOCK);

  /* U1 = HMAC(P, S || INT(1)) */
  c = inner;
  SHA512_Update(&c, salt, salt_len);
  SHA512_Update(&c, first_index, sizeof first_index);
  SHA512_Final(u, &c);
  c = outer;
  SHA512_Update(&c, u, DIGEST);
  SHA512_Final(u, &c);
  memcpy(t, u, DIGEST);

  /* Un = HMAC(P, Un-1): both hashes compress one block of 64 data bytes after the 128-byte pad,
   * so the padding is fixed: 0x80, zeros, and the 128-bit message length 192 * 8 = 0x600 bits. */
  memset(block, 0, sizeof block);
  block[DIGEST] = 0x80;
  block[BLOCK - 2] = 0x06;
  for (uint32_t n = 1; n < iterations; n++) {
    memcpy(block, u, DIGEST);
    c = inner;
    SHA512_Transform(&c, block);
    store_digest(&c, block);
    c = outer;
    SHA512_Transform(&c, block);
    store_digest(&c, u);
    for (int k = 0; k < DIGEST; k++) t[k] ^= u[k];
  }
  memcpy(out, t, out_len);

  OPENSSL_cleanse(key, sizeof key);
  OPENSSL_cleanse(pad, sizeof pad);
  OPENSSL_cleanse(block, sizeof block);
  OPENSSL_cleanse(u, sizeof u);
  OPENSSL_cleanse(t, sizeof t);
  OPENSSL_cleanse(&inner, sizeof inner);
  OPENSSL_cleanse(&outer, sizeof outer);
  OPENSSL_cleanse(&c, sizeof c);
}

/* One derivation: its inputs are copied in, so JavaScript may reuse its buffers at once. */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  unsigned char pass[MAX_INPUT_BYTES];
  size_t pass_len;
  unsigned char salt[MAX_INPUT_BYTES];
  size_t salt_len;
  uint32_t iterations;
  unsigned char out[DIGEST];
  size_t out_len;
} job_t;

static void job_free(job_t *job) {
  OPENSSL_cleanse(job, sizeof *job);
  free(job);
}

/* Reads (passphrase, salt, iterations, keyLength) into `job`; on a bad argument throws and returns 0. */
static int read_args(napi_env env, napi_callback_info info, job_t *job) {
  size_t argc = 4;
  napi_value argv[4];
  void *data;
  size_t len;
  bool is_buffer;
  uint32_t out_len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4) {
    napi_throw_type_error(env, NULL, "expected (passphrase, salt, iterations, keyLength)");
    return 0;
  }
  for (int i = 0; i < 2; i++) {
    if (napi_is_buffer(env, argv[i], &is_buffer) != napi_ok || !is_buffer ||
        napi_get_buffer_info(env, argv[i], &data, &len) != napi_ok) {
      napi_throw_type_error(env, NULL, "passphrase and salt must be Buffers");
      return 0;
    }
    if (len > MAX_INPUT_BYTES) {
      napi_throw_range_error(env, NULL, "passphrase or salt is too long");
      return 0;
    }
    if (len > 0) memcpy(i == 0 ? job->pass : job->salt, data, len);
    if (i == 0) job->pass_len = len;
    else job->salt_len = len;
  }
  if (napi_get_value_uint32(env, argv[2], &job->iterations) != napi_ok || job->iterations < 1 ||
      job->iterations > MAX_ITERATIONS || napi_get_value_uint32(env, argv[3], &out_len) != napi_ok ||
      out_len < 1 || out_len > DIGEST) {
    napi_throw_range_error(env, NULL, "iterations or keyLength is out of range");
    return 0;
  }
  job->out_len = out_len;
  return 1;
}

/* A job holding the call's arguments, or NULL with a JavaScript exception pending. */
static job_t *new_job(napi_env env, napi_callback_info info) {
  job_t *job = calloc(1, sizeof *job);
  if (job == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  if (!read_args(env, info, job)) {
    job_free(job);
    return NULL;
  }
  return job;
}

static void execute(napi_env env, void *data) {
  (void)env;
  job_t *job = data;
  derive(job->pass, job->pass_len, job->salt, job->salt_len, job->iterations, job->out, job->out_len);
}

static void complete(napi_env env, napi_status status, void *data) {
  job_t *job = data;
  napi_value result;
  if (status == napi_ok && napi_create_buffer_copy(env, job->out_len, job->out, NULL, &result) == napi_ok) {
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    napi_value message, error;
    napi_create_string_utf8(env, "key derivation failed", NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &error);
    napi_reject_deferred(env, job->deferred, error);
  }
  napi_delete_async_work(env, job->work);
  job_free(job);
}

/* derive(passphrase, salt, iterations, keyLength): Promise<Buffer>, computed on libuv's thread pool. */
static napi_value derive_async(napi_env env, napi_callback_info info) {
  napi_value promise, name;
  job_t *job = new_job(env, info);
  if (job == NULL) return NULL;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "request-crypto:pbkdf2", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    /* A created promise would be left pending; throwing instead is what the caller can handle. */
    if (job->work != NULL) napi_delete_async_work(env, job->work);
    job_free(job);
    napi_throw_error(env, NULL, "could not queue the key derivation");
    return NULL;
  }
  return promise;
}

/* deriveSync(...): Buffer. Used only by the loader's self-checks (keyDerivationBackend() runs one at 10,000). */
static napi_value derive_sync(napi_env env, napi_callback_info info) {
  napi_value result = NULL;
  job_t *job = new_job(env, info);
  if (job == NULL) return NULL;
  execute(env, job);
  if (napi_create_buffer_copy(env, job->out_len, job->out, NULL, &result) != napi_ok) result = NULL;
  job_free(job);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "derive", NAPI_AUTO_LENGTH, derive_async, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "derive", fn) != napi_ok ||
      napi_create_function(env, "deriveSync", NAPI_AUTO_LENGTH, derive_sync, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "deriveSync", fn) != napi_ok) {
    return NULL;
  }
  return exports;
}
