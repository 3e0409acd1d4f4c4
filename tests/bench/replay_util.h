/* replay_util.h - what the call replays (calls_replay.c, calls_floor.c)
 * share: the CPU and monotonic clocks, the pacing sleep, reading CALLS.json
 * and printing the rounds. Built with them by daemon_bench.py. */
#ifndef REPLAY_UTIL_H
#define REPLAY_UTIL_H

#include <cjson/cJSON.h>

/* One round's outcome. */
struct replay_round {
	double cpu;     /* s of process CPU, first call to last reply */
	int ok, errors;
};

/* The process's CPU (getrusage: user + system) in s. */
double replay_cpu_s(void);
/* CLOCK_MONOTONIC in s. */
double replay_mono_s(void);
/* Sleep s seconds (nothing when s <= 0). */
void replay_sleep_s(double s);

/* Parse argv (REGION ENDPOINT_URL CALLS.json [ROUNDS]) and read
 * CALLS.json: [[operation, params, offset_s], ...], every entry checked.
 * prog names the program in messages. Returns the array (cJSON_Delete it)
 * with *rounds set, or NULL after a message on stderr with *rounds 0 (a
 * usage error) or -1 (CALLS.json unreadable or malformed). */
cJSON *replay_load(const char *prog, int argc, char **argv, int *rounds);

/* One entry of the array replay_load returned. */
void replay_entry(const cJSON *c, const char **op, const cJSON **params,
		  double *offset);

/* Print {"rounds": [{"cpu": s, "ok": n, "errors": n}, ...]} on stdout. */
void replay_print(const struct replay_round *per, int rounds);

#endif
