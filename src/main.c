/* main.c - command line entry point of personalize-retrain; see cli.h. */
#include "cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
