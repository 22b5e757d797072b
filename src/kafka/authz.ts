/**
 * Authorization failures from kafkajs, turned into AuthorizationErrors
 * that name the operation, the resource and the ACL that grants it.
 * kafkajs marks them not retriable; they must never be retried as
 * transient anywhere above it either.
 */
import type { Kafka } from 'kafkajs';
import { AuthorizationError, type AclRefusal } from '../errors';
import { errorTypes } from './error-types';

const RESOURCE_OF: Record<string, AclRefusal['resourceType']> = {
  TOPIC_AUTHORIZATION_FAILED: 'topic',
  GROUP_AUTHORIZATION_FAILED: 'group',
  CLUSTER_AUTHORIZATION_FAILED: 'cluster',
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 'transactional-id',
};

const principals = new WeakMap<Kafka, string>();

/** Remember whom a client authenticates as (`User:<name>`), for refusals' messages. */
export function setPrincipal(kafka: Kafka, principal: string | undefined): void {
  if (principal !== undefined) principals.set(kafka, principal);
}

/** The kind of resource an authorization failure in `e` (or its causes) is about, if it is one. */
export function refusedResource(e: unknown): AclRefusal['resourceType'] | undefined {
  for (const type of errorTypes(e)) if (type in RESOURCE_OF) return RESOURCE_OF[type];
  return undefined;
}

/**
 * An AuthorizationError for `e` if the broker refused it for lack of an
 * ACL, else undefined. `asked` says what was asked, for each kind of
 * resource that may be refused (a consumer's join is refused on its group,
 * its fetch on its topic).
 */
export function authorizationError(
  kafka: Kafka,
  e: unknown,
  asked: Partial<Record<AclRefusal['resourceType'], Omit<AclRefusal, 'resourceType' | 'principal'>>>,
  what?: string,
): AuthorizationError | undefined {
  if (e instanceof AuthorizationError) return e;
  const kind = refusedResource(e);
  if (kind === undefined) return undefined;
  const on = asked[kind] ?? (kind === 'cluster' ? { operation: 'Create', resource: '', pattern: 'literal' as const } : undefined);
  const principal = principals.get(kafka);
  if (on === undefined)
    return new AuthorizationError({ operation: 'Describe', resourceType: kind, resource: '<unknown>', pattern: 'literal', principal }, what, e);
  return new AuthorizationError({ ...on, resourceType: kind, principal }, what, e);
}
