/*
 * One core's AES-GCM rate with gnutls, for scripts/bench/tls.py: the
 * most a single TLS session (one thread) can encrypt or decrypt.
 *
 *   aes-gcm-rate SECONDS CIPHER...     CIPHER: AES-128-GCM, AES-256-GCM
 *
 * For each cipher, prints "CIPHER encrypt MB/s" and "CIPHER decrypt
 * MB/s" (10^6 bytes of plaintext per second of this thread's CPU
 * time).  Records are 16 KiB, the
 * largest plaintext a TLS record carries, each with its own nonce and
 * the 5-byte header TLS 1.3 authenticates; the plaintext side walks a
 * buffer larger than any cache, as guest RAM is, and the ciphertext
 * side is one record buffer, as a TLS session's is.
 *
 * Built by tls.py at run time (cc, gnutls's pkg-config): not part of
 * the meson build.
 */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECORD 16384
#define TAG 16
#define NONCE 12
#define AAD 5
#define SPAN (256u << 20) /* larger than any cache */

/*
 * The thread's CPU time, not the wall clock: the machine is shared, and
 * what is wanted is what one core does while it runs this thread.
 */
static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void nonce_for(uint8_t *nonce, uint64_t seq)
{
    memset(nonce, 0x5a, NONCE);
    for (int i = 0; i < 8; i++) {
        nonce[NONCE - 1 - i] ^= (uint8_t)(seq >> (8 * i));
    }
}

/* Plaintext MB/s of @decrypt or encryption over @seconds. */
static double rate(gnutls_aead_cipher_hd_t h, uint8_t *plain, int decrypt,
                   double seconds)
{
    static uint8_t record[RECORD + TAG];
    uint8_t nonce[NONCE], aad[AAD] = { 23, 3, 3, (RECORD + TAG) >> 8,
                                      (RECORD + TAG) & 0xff };
    uint64_t seq = 0, bytes = 0;
    size_t off = 0;
    double start = now(), end = start + seconds, t = start;

    /* The record decrypted again and again must be a genuine one. */
    size_t len = sizeof(record);
    nonce_for(nonce, 0);
    if (gnutls_aead_cipher_encrypt(h, nonce, NONCE, aad, AAD, TAG, plain,
                                   RECORD, record, &len) < 0) {
        fprintf(stderr, "aes-gcm-rate: encryption failed\n");
        exit(1);
    }
    while (t < end) {
        for (int i = 0; i < 64; i++) {
            len = decrypt ? RECORD : sizeof(record);
            int ret = decrypt
                ? gnutls_aead_cipher_decrypt(h, nonce, NONCE, aad, AAD, TAG,
                                             record, sizeof(record),
                                             plain + off, &len)
                : (nonce_for(nonce, ++seq),
                   gnutls_aead_cipher_encrypt(h, nonce, NONCE, aad, AAD, TAG,
                                              plain + off, RECORD, record,
                                              &len));
            if (ret < 0) {
                fprintf(stderr, "aes-gcm-rate: %s\n", gnutls_strerror(ret));
                exit(1);
            }
            bytes += RECORD;
            off = (off + RECORD) % SPAN;
        }
        t = now();
    }
    return bytes / (t - start) / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 3 || atof(argv[1]) <= 0) {
        fprintf(stderr, "usage: %s SECONDS CIPHER...\n", argv[0]);
        return 2;
    }
    double seconds = atof(argv[1]);
    uint8_t *plain = malloc(SPAN);
    uint8_t keybuf[32];

    if (!plain) {
        fprintf(stderr, "aes-gcm-rate: out of memory\n");
        return 1;
    }
    /* Written once, so that every page is there before the clock runs. */
    for (size_t i = 0; i < SPAN; i++) {
        plain[i] = (uint8_t)(i * 2654435761u >> 13);
    }
    memset(keybuf, 0x42, sizeof(keybuf));
    for (int i = 2; i < argc; i++) {
        gnutls_cipher_algorithm_t alg = gnutls_cipher_get_id(argv[i]);
        gnutls_aead_cipher_hd_t h;

        if (alg == GNUTLS_CIPHER_UNKNOWN || gnutls_cipher_get_tag_size(alg)
            != TAG) {
            fprintf(stderr, "aes-gcm-rate: %s is no AEAD cipher gnutls "
                    "knows\n", argv[i]);
            return 2;
        }
        gnutls_datum_t key = { keybuf, gnutls_cipher_get_key_size(alg) };
        if (gnutls_aead_cipher_init(&h, alg, &key) < 0) {
            fprintf(stderr, "aes-gcm-rate: cannot use %s\n", argv[i]);
            return 1;
        }
        printf("%s encrypt %.1f\n", argv[i], rate(h, plain, 0, seconds));
        printf("%s decrypt %.1f\n", argv[i], rate(h, plain, 1, seconds));
        gnutls_aead_cipher_deinit(h);
    }
    free(plain);
    return 0;
}
