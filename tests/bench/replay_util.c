/* replay_util.c - see replay_util.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "replay_util.h"

double replay_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

double replay_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void replay_sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
		}
	}
	fclose(f);
	return buf;
}

cJSON *replay_load(const char *prog, int argc, char **argv, int *rounds)
{
	cJSON *calls, *c;
	char *text;
	int i = 0, want = 1;

	*rounds = 0;
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: %s REGION ENDPOINT_URL CALLS.json [ROUNDS]\n", prog);
		return NULL;
	}
	if (argc == 5) {
		char *end;
		long n;

		errno = 0;
		n = strtol(argv[4], &end, 10);
		if (errno || *end || end == argv[4] || n < 1 || n > 1000) {
			fprintf(stderr, "%s: ROUNDS: want a number 1..1000\n", prog);
			return NULL;
		}
		want = (int)n;
	}
	*rounds = -1;  /* from here on, a bad file */
	text = slurp(argv[3]);
	calls = text ? cJSON_Parse(text) : NULL;
	free(text);
	if (!cJSON_IsArray(calls)) {
		fprintf(stderr, "%s: %s: not a JSON array\n", prog, argv[3]);
		cJSON_Delete(calls);
		return NULL;
	}
	cJSON_ArrayForEach(c, calls) {
		if (!cJSON_GetStringValue(cJSON_GetArrayItem(c, 0)) ||
		    !cJSON_IsObject(cJSON_GetArrayItem(c, 1)) ||
		    !cJSON_IsNumber(cJSON_GetArrayItem(c, 2))) {
			fprintf(stderr, "%s: call %d: want [op, params, offset]\n", prog, i);
			cJSON_Delete(calls);
			return NULL;
		}
		i++;
	}
	*rounds = want;
	return calls;
}

void replay_entry(const cJSON *c, const char **op, const cJSON **params,
		  double *offset)
{
	*op = cJSON_GetStringValue(cJSON_GetArrayItem(c, 0));
	*params = cJSON_GetArrayItem(c, 1);
	*offset = cJSON_GetArrayItem(c, 2)->valuedouble;
}

void replay_print(const struct replay_round *per, int rounds)
{
	printf("{\"rounds\": [");
	for (int i = 0; i < rounds; i++)
		printf("%s{\"cpu\": %.6f, \"ok\": %d, \"errors\": %d}",
		       i ? ", " : "", per[i].cpu, per[i].ok, per[i].errors);
	printf("]}\n");
}
