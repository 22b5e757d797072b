/**
 * The local broker's secured listener: SCRAM users and super users from the
 * environment, and a certificate authority and broker certificate made with
 * the JDK's keytool (no download), for `KAFKA_SASL_SSL_PORT` (see local.ts).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Only for this local test broker's keystores. */
export const STORE_PASSWORD = 'kafka-fusion-local';

/** SCRAM users to create at start: name and password pairs. */
export function scramUsers(): [string, string][] {
  const raw = process.env.KAFKA_SCRAM_USERS ?? 'kafka-fusion:kafka-fusion-secret';
  return raw.split(',').map((pair) => {
    const at = pair.indexOf(':');
    if (at <= 0 || at === pair.length - 1) throw new Error(`KAFKA_SCRAM_USERS: expected name:password[,name:password...], got an entry without both`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  });
}

/** SCRAM users that hold every right on the secured listener. */
export function superUsers(): string[] {
  return (process.env.KAFKA_SUPER_USERS ?? 'kafka-fusion')
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u.length > 0);
}

/** keytool, failing with its output. */
function keytool(...args: string[]): void {
  const r = spawnSync('keytool', args, { encoding: 'utf8' });
  if (r.error) throw new Error(`could not run keytool (it comes with the JDK): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`keytool ${args[0]} failed: ${r.stderr}${r.stdout}`);
}

/** A certificate authority and a broker certificate it signed, for 127.0.0.1 and localhost; the CA as PEM for clients. */
export function makeCertificates(TLS_DIR: string): void {
  fs.rmSync(TLS_DIR, { recursive: true, force: true });
  fs.mkdirSync(TLS_DIR, { recursive: true });
  const f = (name: string) => path.join(TLS_DIR, name);
  const store = ['-storetype', 'PKCS12', '-storepass', STORE_PASSWORD, '-keypass', STORE_PASSWORD];
  keytool(
    '-genkeypair',
    '-alias',
    'ca',
    '-keyalg',
    'RSA',
    '-keysize',
    '2048',
    '-dname',
    'CN=kafka-fusion local CA',
    '-ext',
    'bc:c',
    '-validity',
    '3650',
    '-keystore',
    f('ca.p12'),
    ...store,
  );
  keytool('-exportcert', '-alias', 'ca', '-keystore', f('ca.p12'), '-storepass', STORE_PASSWORD, '-rfc', '-file', f('ca.pem'));
  keytool(
    '-genkeypair',
    '-alias',
    'broker',
    '-keyalg',
    'RSA',
    '-keysize',
    '2048',
    '-dname',
    'CN=localhost',
    '-validity',
    '3650',
    '-keystore',
    f('broker.p12'),
    ...store,
  );
  keytool('-certreq', '-alias', 'broker', '-keystore', f('broker.p12'), '-storepass', STORE_PASSWORD, '-file', f('broker.csr'));
  keytool(
    '-gencert',
    '-alias',
    'ca',
    '-keystore',
    f('ca.p12'),
    '-storepass',
    STORE_PASSWORD,
    '-infile',
    f('broker.csr'),
    '-outfile',
    f('broker.crt'),
    '-rfc',
    '-ext',
    'SAN=dns:localhost,ip:127.0.0.1',
    '-validity',
    '3650',
  );
  keytool('-importcert', '-alias', 'ca', '-keystore', f('broker.p12'), '-storepass', STORE_PASSWORD, '-file', f('ca.pem'), '-noprompt');
  keytool('-importcert', '-alias', 'broker', '-keystore', f('broker.p12'), '-storepass', STORE_PASSWORD, '-file', f('broker.crt'));
}
