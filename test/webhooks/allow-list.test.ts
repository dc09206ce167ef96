import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig, webhookHostEntry } from '../../shared/core/config/config';
import { hostAllowed, targetProblem } from '../../shared/runtime/events/webhook-registry';

describe('TICKETFLOW_WEBHOOK_ALLOWED_HOSTS', () => {
  it('is empty by default and normalises host and host:port entries as URLs write hosts', () => {
    assert.deepEqual(resolveConfig({}).webhooks, { allowedHosts: [], backoffMs: 1000, timeoutMs: 10_000 });
    const env = { TICKETFLOW_WEBHOOK_ALLOWED_HOSTS: ' Hooks.Example.com , 10.0.0.5:8080,[::1]:9000,::1 ' };
    assert.deepEqual(resolveConfig(env).webhooks.allowedHosts, [
      'hooks.example.com',
      '10.0.0.5:8080',
      '[::1]:9000',
      '[::1]',
    ]);
    for (const bad of ['http://hooks.example.com', 'host:0', 'host:70000', 'a/b', 'user@host', 'host:port'])
      assert.equal(webhookHostEntry(bad), null, bad);
    assert.throws(
      () => resolveConfig({ TICKETFLOW_WEBHOOK_ALLOWED_HOSTS: 'ok.example.com,https://x.example.com' }),
      /TICKETFLOW_WEBHOOK_ALLOWED_HOSTS takes host or host:port entries .*got "https:\/\/x.example.com"/,
    );
  });

  it('allows a bare host on its scheme’s default port only, host:port on that port only', () => {
    const list = resolveConfig({
      TICKETFLOW_WEBHOOK_ALLOWED_HOSTS: 'hooks.example.com,10.0.0.5:8080,[::1]:9000',
    }).webhooks.allowedHosts;
    const allowed = (url: string) => hostAllowed(new URL(url), list);
    assert.ok(allowed('https://hooks.example.com/x'));
    assert.ok(allowed('http://HOOKS.example.com:80/x'));
    assert.ok(!allowed('https://hooks.example.com:8443/x'));
    assert.ok(!allowed('http://hooks.example.com:443/x'), '443 is not http’s default port');
    assert.ok(allowed('http://10.0.0.5:8080/'));
    assert.ok(!allowed('http://10.0.0.5/'));
    assert.ok(allowed('http://[0:0:0:0:0:0:0:1]:9000/'), 'IPv6 as the URL parser writes it');
    assert.ok(!allowed('http://evil.hooks.example.com/'));
    assert.ok(!allowed('http://hooks.example.com.evil.org/'));
    assert.match(
      targetProblem(new URL('http://127.0.0.1/'), []) ?? '',
      /TICKETFLOW_WEBHOOK_ALLOWED_HOSTS is empty/,
    );
    assert.match(
      targetProblem(new URL('http://127.0.0.1/'), list) ?? '',
      /127\.0\.0\.1:80 is not in TICKETFLOW_WEBHOOK_ALLOWED_HOSTS/,
    );
  });
});
