/* msgid.h - journal MESSAGE_IDs of personalize-retrain.
 *
 * Each id names one kind of event, so that operators can find it
 * (`journalctl MESSAGE_ID=...`) and `journalctl -x` can explain it from the
 * catalog systemd/personalize-retrain.catalog, which must carry the same ids
 * (tests/integration/msgid_catalog.sh checks it). Ids are fixed forever
 * once released: never reuse or change one; add new ones with
 * `systemd-id128 new`.
 *
 * The catalog texts use the fields PIPELINE= (all), STAGE= (failed),
 * SOLUTION_VERSION_ARN= and CAMPAIGN_ARN= (deployed, rollback): log those
 * with the message. Use with log_struct():
 *
 *     const char *fields[] = { MSGID_FIELD(MSGID_RUN_STARTED), pipeline_field, NULL };
 */
#ifndef PR_MSGID_H
#define PR_MSGID_H

/* A retraining run began (fire time reached, `once`, or catch-up). */
#define MSGID_RUN_STARTED          "1d25938893234974bdb29e6c69e36d75"
/* A run ended with every job ACTIVE (and the campaign updated, if any). */
#define MSGID_RUN_SUCCEEDED        "ddb8c2fbb00e434f9df1af632bc772df"
/* A run ended failed: a job failed, timed out, or the service stayed unreachable. */
#define MSGID_RUN_FAILED           "c73adea125cf4aea971acf89beee7ffd"
/* The campaign now serves the new solution version (campaign updated). */
#define MSGID_DEPLOYED             "43544ce9910345beaca8bce4cd7f4500"
/* The quality gate rejected the new version; nothing deployed. */
#define MSGID_QUALITY_GATE_REJECTED "0055b3f3303546d2840d13b063de0f06"
/* The campaign was updated back to the previous solution version. */
#define MSGID_ROLLBACK             "0f378b9ebb9d4019abd5259ff3b11087"
/* SIGHUP with an invalid config: the old config stays in use. */
#define MSGID_RELOAD_FAILED        "58c169ecb41443c384ca6e899a190398"

/* "MESSAGE_ID=<id>" as one string literal, for log_struct() field arrays. */
#define MSGID_FIELD(id) "MESSAGE_ID=" id

#endif
