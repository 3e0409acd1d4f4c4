/* exitcodes.h - the process exit statuses of personalize-retrain.
 *
 * sysexits-style, documented in personalize-retrain(8); scripts rely on them. */
#ifndef PR_EXITCODES_H
#define PR_EXITCODES_H

enum pr_exit {
	PR_EXIT_OK          = 0,  /* success */
	PR_EXIT_RUN_FAILED  = 1,  /* a job failed, or a run was rejected */
	PR_EXIT_USAGE       = 2,  /* bad command line */
	PR_EXIT_UNAVAILABLE = 69, /* EX_UNAVAILABLE: the service stayed unreachable */
	PR_EXIT_SOFTWARE    = 70, /* EX_SOFTWARE: internal error */
	PR_EXIT_IOERR       = 74, /* EX_IOERR: the state could not be saved */
	PR_EXIT_CONFIG      = 78, /* EX_CONFIG: configuration error */
};

#endif
