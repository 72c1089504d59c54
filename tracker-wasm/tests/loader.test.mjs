// The loader's check for development hosts (loader/t.js), which decides for the tracker and for the loader's
// own fallback whether anything is sent: run on the loader's source, without a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const source = readFileSync(new URL('../loader/t.js', import.meta.url), 'utf8');
const [, regex, protocolTest] = /\((\/.+\/)\.test\(l\.hostname\) \|\| (l\.protocol == '[^']+')\)/.exec(source);
const isLocal = new Function('hostname', 'protocol',
  `const l = { hostname, protocol }; return ${regex}.test(l.hostname) || ${protocolTest};`);

test('development hosts are recognised, other hosts are not', () => {
  for (const [hostname, protocol] of [['localhost', 'http:'], ['127.0.0.1', 'http:'], ['app.localhost', 'http:'],
    ['[::1]', 'http:'], ['', 'file:'], ['', 'http:']]) {
    assert.equal(isLocal(hostname, protocol), true, `${protocol}//${hostname}`);
  }
  for (const hostname of ['example.com', 'localhost.example.com', 'mylocalhost', '10.0.0.1']) {
    assert.equal(isLocal(hostname, 'https:'), false, hostname);
  }
});
