/**
 * `kafka-fusion/admin`: operating the library's topics and rights: return
 * topics' prefixes, deleting and sweeping them, the ACLs each process needs,
 * and the defaults a deployment may want to read.
 *
 * @packageDocumentation
 * @module kafka-fusion/admin
 */
export { deleteTopicsByPrefix } from '../kafka/topic-tools';
export { sweepTopics, SWEEP_DEFAULTS } from '../calls/sweeper';
export type { SweepOptions, SweepReport } from '../calls/sweeper';
export { LIBRARY_TOPIC_PREFIX, EPHEMERAL_TOPIC_PREFIX } from '../naming';
export { requiredAcls, aclCommands, aclTable } from '../acls';
export type { AclGrant, AclNeeds, AclOperationName } from '../acls';
export { STDERR_LOGGER } from '../kafka/client';
export { RETRY_DEFAULTS } from '../retry';
export { REACTOR_DEFAULTS } from '../reactor/options';
export { PIPELINE_DEFAULTS } from '../pipeline/pipeline';
