/* policy.h - the IAM policies a config needs (`personalize-retrain policy`).
 *
 * policy_identity() builds the identity policy of the daemon's own
 * credentials: exactly the actions the config can make the daemon call
 * (a run, adoption of jobs in flight, rollback, check --online), each on
 * the resources derived from the config, `*` only where IAM offers no
 * resource-level permission for the action. policy_import_role() builds
 * the import role's trust policy and its S3 read policy.
 *
 * The output is deterministic: the same config gives the same bytes
 * (resources sorted, statements in a fixed order), so it can be compared
 * and reviewed in version control. */
#ifndef PR_POLICY_H
#define PR_POLICY_H

#include <stdbool.h>
#include <stddef.h>

struct config;

/* The service principal Personalize acts as, and the value the PassRole
 * condition iam:PassedToService must have. */
#define POLICY_SERVICE_PRINCIPAL "personalize.amazonaws.com"

/* The identity policy for the pipelines of cfg (only: the pipeline of that
 * name; NULL: all of them, statements merged), as JSON text ending in a
 * newline, malloc'd in *out. 0, -ENOENT (no pipeline named only), -ENOMEM. */
int policy_identity(const struct config *cfg, const char *only, char **out);

/* The import role's documents as one JSON object: "RoleArn",
 * "AssumeRolePolicyDocument" (the trust policy: Personalize's service
 * principal, aws:SourceAccount the pipelines' accounts) and
 * "PolicyDocument" (s3:GetObject on the configured objects, s3:ListBucket
 * on their buckets restricted by s3:prefix). 0; -ENOENT (no pipeline named
 * only); -EINVAL (the pipelines name several import roles: *err says so,
 * pick one with only); -ENOMEM. err may be NULL. */
int policy_import_role(const struct config *cfg, const char *only, char **out,
		       char *err, size_t errlen);

/* The same documents for the role the pipelines' batch jobs run as
 * (BatchInferenceRoleArn / BatchSegmentRoleArn, by default the import
 * role): s3:GetObject on the batch inputs (and on the datasets when it is
 * the import role too), s3:PutObject under the batch outputs, s3:ListBucket
 * by prefix. 0; -ENOENT (no pipeline named only); -ENODATA (no selected
 * pipeline has a batch job); -EINVAL (several batch roles); -ENOMEM; *err
 * says why for -ENODATA and -EINVAL. */
int policy_batch_role(const struct config *cfg, const char *only, char **out,
		      char *err, size_t errlen);

/* true for the error codes of an IAM denial ("AccessDeniedException",
 * "AccessDenied", with or without a namespace prefix). */
bool policy_is_denial(const char *code);

/* The text a denial is reported with: the action and the resource IAM's
 * message names ("access denied to personalize:UpdateCampaign on ARN"),
 * else the operation and the whole message, and the pointer to
 * `personalize-retrain policy`. operation is the API
 * operation ("CreateDatasetImportJob"); message may be NULL. Always
 * NUL-terminates buf (len > 0). */
void policy_denial_text(const char *operation, const char *message, char *buf,
			size_t len);

/* The same for a HeadObject S3 refused (403): HeadObject is authorized by
 * s3:GetObject on the object ("s3://bucket/key"); for a folder
 * ("s3://bucket/prefix/") the ListObjectsV2 refused, authorized by
 * s3:ListBucket on the bucket for that s3:prefix. */
void policy_s3_denial_text(const char *partition, const char *uri, char *buf,
			   size_t len);

#endif
