import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes } from 'kafkajs';
import type { AclGrant } from '../../src/acls';

/**
 * Allow `grants` to `principal`, as an operator would with kafka-acls, on a
 * listener whose principal may alter ACLs (the test broker's plaintext one);
 * resolves once the broker applies them.
 */
export async function grantAcls(brokers: string[], principal: string, grants: AclGrant[]): Promise<void> {
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const acl = grants.flatMap((g) =>
      g.operations.map((op) => ({
        resourceType: g.resourceType === 'topic' ? AclResourceTypes.TOPIC : AclResourceTypes.GROUP,
        resourceName: g.name,
        resourcePatternType: g.pattern === 'prefixed' ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
        principal,
        host: '*',
        operation: AclOperationTypes[op.toUpperCase() as 'READ' | 'WRITE' | 'CREATE' | 'DELETE' | 'DESCRIBE'],
        permissionType: AclPermissionTypes.ALLOW,
      })),
    );
    await admin.createAcls({ acl });
    // The broker answers DescribeAcls from its authorizer: once it lists them all, it applies them.
    const key = (a: { resourceType: number; resourceName: string; resourcePatternType: number; operation: number }) =>
      `${a.resourceType}/${a.resourceName}/${a.resourcePatternType}/${a.operation}`;
    const deadline = Date.now() + 30000;
    for (;;) {
      const { resources } = await admin.describeAcls({
        resourceType: AclResourceTypes.ANY,
        resourcePatternType: ResourcePatternTypes.ANY,
        principal,
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ANY,
      });
      const held = new Set(resources.flatMap((r) => r.acls.map((a) => key({ ...r, operation: a.operation }))));
      if (acl.every((a) => held.has(key(a)))) return;
      if (Date.now() > deadline) throw new Error(`the broker did not list the ACLs of ${principal} within 30 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await admin.disconnect();
  }
}
