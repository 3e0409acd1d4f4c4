/* main.c - command line entry point of personalize-retrain. */
#include <stdio.h>
#include <string.h>

#include "exitcodes.h"
#include "log.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: personalize-retrain [--help] [--version]\n");
}

int main(int argc, char **argv)
{
	log_init(LOG_TARGET_AUTO, LOG_INFO);
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("personalize-retrain %s\n", PR_VERSION);
		return PR_EXIT_OK;
	}
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return PR_EXIT_OK;
	}
	usage(stderr);
	return PR_EXIT_USAGE;
}
