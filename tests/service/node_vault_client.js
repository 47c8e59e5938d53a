// SPDX-License-Identifier: Apache-2.0
// node-vault 0.12.0 (npm) against a running keywardd: health, lookup-self, create a key, encrypt
// and decrypt with context (node-vault sends `name` in the body: ignored, as Vault does),
// rotate, decrypt old, rewrap, read, list, datakey, config, trim, delete, a bad token refused
// with 403. Prints one line per
// check and "node-vault: N failed"; exits 1 when any failed.
//
// usage: node node_vault_client.js URL TOKEN   (NODE_PATH must hold node-vault)
'use strict';

const [url, token] = process.argv.slice(2);
const vault = require('node-vault')({ apiVersion: 'v1', endpoint: url, token });
let failed = 0;

function check(ok, what, detail) {
  if (ok) {
    console.log('ok   node-vault: ' + what);
  } else {
    failed += 1;
    console.log('FAIL node-vault: ' + what + (detail ? '\n     ' + JSON.stringify(detail) : ''));
  }
}

const b64 = (text) => Buffer.from(text).toString('base64');

async function main() {
  const health = await vault.health();
  check(health.initialized === true && health.sealed === false, 'health', health);
  const self = await vault.tokenLookupSelf();
  check(self.data.display_name === 'token-node-app', 'tokenLookupSelf', self.data);

  await vault.transitCreateKey({ name: 'nv' });
  const ctx = b64('invoice-9');
  const enc = await vault.encryptData({ name: 'nv', plaintext: b64('node secret'), context: ctx });
  const ct = enc.data.ciphertext;
  check(ct.startsWith('vault:v1:'), 'encryptData gives vault:v1:', enc.data);
  const dec = await vault.decryptData({ name: 'nv', ciphertext: ct, context: ctx });
  check(Buffer.from(dec.data.plaintext, 'base64').toString() === 'node secret', 'decryptData');
  try {
    await vault.decryptData({ name: 'nv', ciphertext: ct, context: b64('invoice-10') });
    check(false, 'another context must fail');
  } catch (e) {
    check(e.response && e.response.statusCode === 400, 'another context: 400', e.message);
  }
  await vault.write('transit/keys/nv/rotate', {});
  const key = await vault.transitReadKey({ name: 'nv' });
  check(key.data.latest_version === 2, 'rotate, then transitReadKey: latest_version 2', key.data);
  const old = await vault.decryptData({ name: 'nv', ciphertext: ct, context: ctx });
  check(Buffer.from(old.data.plaintext, 'base64').toString() === 'node secret',
        'a v1 ciphertext decrypts after the rotation');
  const re = await vault.rewrapData({ name: 'nv', ciphertext: ct, context: ctx });
  check(re.data.ciphertext.startsWith('vault:v2:'), 'rewrapData moves it to v2', re.data);
  const list = await vault.transitListKeys();
  check(list.data.keys.includes('nv'), 'transitListKeys', list.data);

  // The key's policy through node-vault's generic write: the version window, trim, delete.
  const dk = await vault.write('transit/datakey/plaintext/nv', { context: ctx });
  const dkOpened = await vault.decryptData({ name: 'nv', ciphertext: dk.data.ciphertext,
                                              context: ctx });
  check(dkOpened.data.plaintext === dk.data.plaintext, 'datakey/plaintext, opened by decrypt');
  const conf = await vault.write('transit/keys/nv/config',
                                 { min_decryption_version: 2, min_encryption_version: 2 });
  check(conf.data.min_decryption_version === 2, 'config sets min_decryption_version', conf.data);
  try {
    await vault.decryptData({ name: 'nv', ciphertext: ct, context: ctx });
    check(false, 'a v1 ciphertext below the window must be refused');
  } catch (e) {
    check(e.response && e.response.statusCode === 400 &&
          JSON.stringify(e.response.body).includes('disallowed by policy (too old)'),
          'decrypt below min_decryption_version: 400 too old', e.response && e.response.body);
  }
  const trimmed = await vault.write('transit/keys/nv/trim', { min_available_version: 2 });
  check(JSON.stringify(Object.keys(trimmed.data.keys)) === '["2"]', 'trim leaves v2 only',
        trimmed.data);
  await vault.write('transit/keys/nv/config', { deletion_allowed: true });
  await vault.delete('transit/keys/nv');
  try {
    await vault.transitReadKey({ name: 'nv' });
    check(false, 'a deleted key must be gone');
  } catch (e) {
    check(e.response && e.response.statusCode === 404, 'delete, then read: 404', e.message);
  }

  const stranger = require('node-vault')({ apiVersion: 'v1', endpoint: url,
                                           token: 'kwt_' + '1'.repeat(64) });
  try {
    await stranger.encryptData({ name: 'nv', plaintext: b64('x') });
    check(false, 'an unknown token must be refused');
  } catch (e) {
    check(e.response && e.response.statusCode === 403 &&
          JSON.stringify(e.response.body) === '{"errors":["permission denied"]}',
          'an unknown token: 403 permission denied', e.response && e.response.body);
  }
}

main().then(() => {
  console.log('node-vault: ' + failed + ' failed');
  process.exit(failed ? 1 : 0);
}, (e) => {
  console.log('FAIL node-vault: ' + (e.stack || e));
  process.exit(1);
});
