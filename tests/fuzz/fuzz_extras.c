/* fuzz_extras.c - libFuzzer harness for the gate, hook and metrics parsers
 * and renderers.
 *
 * Input: one selector byte, then text. The text goes through the config
 * parsers of the gate, the hook and the metrics file (each must accept or
 * refuse with a message, never crash), the command splitter (argv must be
 * NULL-terminated, argc words), the gate (fuzzed metric names and values:
 * every verdict has a reason of bounded length), and the metrics renderer
 * with the text as a pipeline name and an error code (label values must be
 * escaped: every line of the output starts with '#' or the prefix, and the
 * whole file is valid UTF-8). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "child.h"
#include "gate.h"
#include "hook.h"
#include "metrics.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The format is UTF-8: lead byte, then the right number of continuation
 * bytes, no overlong 2-byte forms, no surrogates, nothing past U+10FFFF. */
static int valid_utf8(const unsigned char *s)
{
	while (*s) {
		unsigned need = *s < 0x80 ? 0 : *s < 0xc2 ? 9 : *s < 0xe0 ? 1
			      : *s < 0xf0 ? 2 : *s < 0xf5 ? 3 : 9;
		unsigned char lead = *s;

		if (need == 9)
			return 0;
		if (need >= 2 && ((lead == 0xe0 && s[1] < 0xa0) ||
				  (lead == 0xed && s[1] >= 0xa0) ||
				  (lead == 0xf0 && s[1] < 0x90) ||
				  (lead == 0xf4 && s[1] >= 0x90)))
			return 0;
		for (s++; need > 0; need--, s++)
			if ((*s & 0xc0) != 0x80)
				return 0;
	}
	return 1;
}

static void check_render(const char *text)
{
	struct metrics *m = NULL;
	struct metrics_pipeline *p = NULL;
	struct strbuf sb = STRBUF_INIT;
	struct aws_call_metrics c = { text, 2, AWS_ERR_CLIENT, text, 400, 7 };
	const char *line;

	if (metrics_new(&m) < 0)
		return;
	if (metrics_pipeline(m, text, &p) == 0) {
		metrics_run_started(p, 1764000000);
		(void)metrics_set_stage(p, text);
		(void)metrics_set_stage(p, "training");
		(void)metrics_run_finished(p, 1764000100, text);
		(void)metrics_run_finished(p, 1764000100, "failed");
	}
	metrics_api_call(m, &c);
	if (metrics_render(m, &sb) == 0 && sb.buf) {
		if (!valid_utf8((const unsigned char *)sb.buf))
			abort();
		for (line = sb.buf; *line; ) {
			const char *eol = strchr(line, '\n');

			if (!eol)
				abort(); /* every line ends */
			if (*line != '#' &&
			    strncmp(line, METRICS_PREFIX, strlen(METRICS_PREFIX)))
				abort();
			line = eol + 1;
		}
	}
	strbuf_free(&sb);
	metrics_free(m);
}

static void check_gate(const char *text, size_t len)
{
	struct personalize_metric ms[8];
	struct personalize_solution_metrics a = { text, ms, 0 }, b;
	struct gate_config cfg = { .metric = "coverage", .max_regression = 0.02,
				   .has_min_quality = len & 1,
				   .min_quality = 0.1 };
	struct gate_result r;
	size_t i;

	for (i = 0; i < 8 && i < len; i++) {
		ms[i].name = (i & 1) ? "coverage" : text + i;
		ms[i].value = (double)(unsigned char)text[i] / 255.0;
		if (text[i] == 'n')
			ms[i].value = NAN;
		a.n_metrics++;
	}
	b = a;
	b.n_metrics = a.n_metrics / 2;
	if (gate_evaluate(&cfg, &a, (len & 2) ? &b : NULL, &r) != 0)
		abort();
	if (strlen(r.reason) > GATE_REASON_MAX || !r.reason[0])
		abort();
	cfg.metric = text;
	if (gate_evaluate(&cfg, &a, &b, &r) == 0 &&
	    strlen(r.reason) > GATE_REASON_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, err[256], **argv = NULL;
	const char *name;
	double v;
	size_t argc = 0, i;

	if (size < 1 || size > 4096)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0:
		if (gate_parse_max_regression(text, &v, err, sizeof(err)) == 0 &&
		    !(v >= 0 && v <= 1))
			abort();
		if (gate_parse_min_quality(text, &v, err, sizeof(err)) == 0 &&
		    !(v >= 0 && isfinite(v)))
			abort();
		(void)gate_parse_metric(text, &name, err, sizeof(err));
		break;
	case 1:
		if (child_split_command(text, &argv, &argc) == 0) {
			for (i = 0; i < argc; i++)
				if (!argv[i])
					abort();
			if (argc == 0 || argv[argc])
				abort();
			free(argv);
		}
		(void)metrics_check_path(text, err, sizeof(err));
		break;
	case 2:
		check_render(text);
		break;
	default:
		check_gate(text, size - 1);
		break;
	}
	free(text);
	return 0;
}
