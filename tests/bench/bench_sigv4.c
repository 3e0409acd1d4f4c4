/* bench_sigv4.c - nanoseconds per SigV4 signature of one Amazon
 * Personalize DescribeSolutionVersion request, with the signing key cached
 * and with it derived every time, against the bare OpenSSL floor: the same
 * hashes and HMACs (SHA-256 of the body and of a canonical request of the
 * same length, HMAC of the string to sign; plus the four-HMAC key
 * derivation when cold) with prefetched, reused OpenSSL contexts.
 *
 * Prints a table, and writes "name value" lines to
 * $BENCH_RESULTS/sigv4.txt (when set) for tests/bench/sigv4_botocore.py,
 * which adds botocore's figure and the ratios. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "sigv4.h"

/* The request tests/bench/sigv4_botocore.py signs too: keep in step. */
#define BENCH_HOST    "personalize.us-east-1.amazonaws.com"
#define BENCH_REGION  "us-east-1"
#define BENCH_SERVICE "personalize"
#define BENCH_TARGET  "AmazonPersonalize.DescribeSolutionVersion"
#define BENCH_BODY "{\"solutionVersionArn\": \"arn:aws:personalize:us-east-1:" \
	"123456789012:solution/retail-recs/8b2d4c1e\"}"
#define BENCH_AKID   "ASIAEXAMPLEBENCH0001"
#define BENCH_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define BENCH_SECRET2 "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKE2"
#define BENCH_TOKEN "IQoJb3JpZ2luX2VjEXAMPLETOKENFORBENCHMARKSONLY" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy=="

#define ITERATIONS 4000
/* Rounds interleave the four measurements, and the best round of each
 * counts: on a busy machine the minimum is the least disturbed figure. */
#define ROUNDS 25

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static volatile unsigned char sink; /* keeps results alive */

static const struct sigv4_header headers[] = {
	{ "Host", BENCH_HOST },
	{ "Content-Type", "application/x-amz-json-1.1" },
	{ "X-Amz-Target", BENCH_TARGET },
};

static const struct sigv4_request request = {
	.method = "POST", .path = "/", .headers = headers, .n_headers = 3,
	.body = BENCH_BODY, .body_len = sizeof(BENCH_BODY) - 1,
};

static int sign_round(struct sigv4_signer *s, bool cold, size_t *canon_len,
		      size_t *sts_len, double *best)
{
	struct sigv4_credentials c[2] = {
		{ BENCH_AKID, BENCH_SECRET, BENCH_TOKEN },
		{ BENCH_AKID, BENCH_SECRET2, BENCH_TOKEN },
	};
	struct sigv4_output out = SIGV4_OUTPUT_INIT;
	time_t t = time(NULL);
	int i, r = 0;

	{
		double t0 = now_ns(), dt;

		for (i = 0; i < ITERATIONS; i++) {
			/* alternating secrets defeats the key cache */
			r = sigv4_sign(s, &c[cold ? (i & 1) : 0], BENCH_REGION,
				       BENCH_SERVICE, t, SIGV4_FLAGS_DEFAULT,
				       &request, &out);
			if (r < 0)
				goto done;
			sink ^= (unsigned char)out.signature[0];
		}
		dt = (now_ns() - t0) / ITERATIONS;
		if (dt < *best)
			*best = dt;
	}
	*canon_len = strlen(out.canonical_request);
	*sts_len = strlen(out.string_to_sign);
done:
	sigv4_output_free(&out);
	return r;
}

struct floor_ctx {
	EVP_MD *md;
	EVP_MD_CTX *md_ctx;
	EVP_MAC *mac;
	EVP_MAC_CTX *mac_ctx, *key_ctx;
};

static int floor_hash(struct floor_ctx *f, const void *d, size_t n,
		      unsigned char *out)
{
	unsigned int len;

	return EVP_DigestInit_ex(f->md_ctx, f->md, NULL) &&
	       EVP_DigestUpdate(f->md_ctx, d, n) &&
	       EVP_DigestFinal_ex(f->md_ctx, out, &len);
}

static int floor_hmac(EVP_MAC_CTX *ctx, const void *key, size_t klen,
		      const void *d, size_t n, unsigned char *out)
{
	size_t len;

	return EVP_MAC_init(ctx, key, klen, NULL) &&
	       EVP_MAC_update(ctx, d, n) && EVP_MAC_final(ctx, out, &len, 32);
}

/* The crypto of one signature and nothing else. */
static int floor_round(struct floor_ctx *f, bool cold, size_t canon_len,
		       size_t sts_len, double *best)
{
	char *canon = malloc(canon_len), *sts = malloc(sts_len);
	unsigned char md[32], k[32], k2[32];
	static const char kdate[] = "AWS4" BENCH_SECRET;
	int i, ok = 1;

	if (!canon || !sts) {
		free(canon);
		free(sts);
		return -ENOMEM;
	}
	memset(canon, 'c', canon_len);
	memset(sts, 's', sts_len);
	memset(k, 7, sizeof(k));
	ok = EVP_MAC_init(f->key_ctx, k, sizeof(k), NULL);
	if (ok) {
		double t0 = now_ns(), dt;

		for (i = 0; i < ITERATIONS && ok; i++) {
			ok = floor_hash(f, BENCH_BODY, sizeof(BENCH_BODY) - 1,
					md) &&
			     floor_hash(f, canon, canon_len, md);
			if (cold)
				ok = ok &&
				     floor_hmac(f->mac_ctx, kdate,
						sizeof(kdate) - 1, "20260101",
						8, k) &&
				     floor_hmac(f->mac_ctx, k, 32, BENCH_REGION,
						sizeof(BENCH_REGION) - 1, k2) &&
				     floor_hmac(f->mac_ctx, k2, 32,
						BENCH_SERVICE,
						sizeof(BENCH_SERVICE) - 1, k) &&
				     floor_hmac(f->mac_ctx, k, 32,
						"aws4_request", 12, k2) &&
				     floor_hmac(f->mac_ctx, k2, 32, sts,
						sts_len, md);
			else
				ok = ok && floor_hmac(f->key_ctx, NULL, 0, sts,
						      sts_len, md);
			sink ^= md[0];
		}
		dt = (now_ns() - t0) / ITERATIONS;
		if (dt < *best)
			*best = dt;
	}
	free(canon);
	free(sts);
	return ok ? 0 : -EIO;
}

static EVP_MAC_CTX *hmac_ctx(EVP_MAC *mac)
{
	char digest[] = "SHA256";
	OSSL_PARAM p[2] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest,
						 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX *c = EVP_MAC_CTX_new(mac);

	if (c && !EVP_MAC_CTX_set_params(c, p)) {
		EVP_MAC_CTX_free(c);
		c = NULL;
	}
	return c;
}

int main(void)
{
	struct sigv4_signer *s = NULL;
	struct floor_ctx f = { 0 };
	double cached, cold, floor_cached, floor_cold;
	size_t canon_len = 0, sts_len = 0;
	const char *dir = getenv("BENCH_RESULTS");
	int rc = 1, round;

	if (sigv4_signer_new(&s) < 0)
		goto cleanup;
	f.md = EVP_MD_fetch(NULL, "SHA256", NULL);
	f.md_ctx = EVP_MD_CTX_new();
	f.mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!f.md || !f.md_ctx || !f.mac)
		goto cleanup;
	f.mac_ctx = hmac_ctx(f.mac);
	f.key_ctx = hmac_ctx(f.mac);
	if (!f.mac_ctx || !f.key_ctx)
		goto cleanup;

	cached = cold = floor_cached = floor_cold = 1e300;
	for (round = 0; round < ROUNDS; round++) {
		if (sign_round(s, false, &canon_len, &sts_len, &cached) < 0 ||
		    floor_round(&f, false, canon_len, sts_len,
				&floor_cached) < 0 ||
		    sign_round(s, true, &canon_len, &sts_len, &cold) < 0 ||
		    floor_round(&f, true, canon_len, sts_len, &floor_cold) < 0) {
			fprintf(stderr, "bench_sigv4: signing failed\n");
			goto cleanup;
		}
	}
	printf("SigV4, one DescribeSolutionVersion request (%zu-byte canonical "
	       "request, session token), best of %d x %d:\n",
	       canon_len, ROUNDS, ITERATIONS);
	printf("  %-44s %8.0f ns\n", "sign, signing key cached", cached);
	printf("  %-44s %8.0f ns\n", "sign, signing key derived (cold)", cold);
	printf("  %-44s %8.0f ns\n", "OpenSSL floor, cached (2 SHA-256, 1 HMAC)",
	       floor_cached);
	printf("  %-44s %8.0f ns\n", "OpenSSL floor, cold (2 SHA-256, 5 HMAC)",
	       floor_cold);
	printf("  ratio to the floor: cached %.2fx, cold %.2fx (goal: <= 2x)\n",
	       cached / floor_cached, cold / floor_cold);
	if (dir && *dir) {
		char path[4096];
		FILE *out;

		snprintf(path, sizeof(path), "%s/sigv4.txt", dir);
		out = fopen(path, "w");
		if (out) {
			fprintf(out, "sign_cached_ns %.1f\nsign_cold_ns %.1f\n"
				     "floor_cached_ns %.1f\nfloor_cold_ns %.1f\n",
				cached, cold, floor_cached, floor_cold);
			fclose(out);
		}
	}
	rc = 0;
cleanup:
	EVP_MAC_CTX_free(f.key_ctx);
	EVP_MAC_CTX_free(f.mac_ctx);
	EVP_MAC_free(f.mac);
	EVP_MD_CTX_free(f.md_ctx);
	EVP_MD_free(f.md);
	sigv4_signer_free(s);
	return rc;
}
