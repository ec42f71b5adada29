import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { tenantSession } from '../support/api.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import {
  body,
  deliver,
  encodeYouzanMsg,
  fixture,
  signGeneric,
  signShopify,
  signYouzan,
  youzanWith,
} from '../support/webhooks.js';

/**
 * Every log line of a full scripted history — handlers (Powertools Logger, JSON on stdout) and the
 * local stack — is captured in this process (the local stack runs the handlers in-process) and
 * searched for the personal data the history used: none of it may appear.
 */
vi.hoisted(() => {
  // Before any handler module loads: log everything there is to log.
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  process.env.SIYU_LOCAL_LOG = 'debug';
});

const captured: string[] = [];
const restore: (() => void)[] = [];

function capture(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
    restore.push(() => {
      stream.write = original;
    });
  }
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    const original = console[method];
    console[method] = (...args: unknown[]) => {
      captured.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    };
    restore.push(() => {
      console[method] = original;
    });
  }
}

/** The personal data of the history, in every spelling a log could carry it. */
const people = [
  {
    name: 'Qiaoling Zhuang',
    phone: '138 0013 8111',
    e164: '+8613800138111',
    email: 'Qiaoling.Z@Example.com',
  },
  { name: '王秀英', phone: '+86 139-0013-9222', e164: '+8613900139222', email: 'xiuying.wang@example.cn' },
  { name: 'Björn Ødegaard', phone: '+47 912 34 567', e164: '+4791234567', email: 'bjorn@fjord.example' },
  { name: 'Batch Person Alpha', phone: '13700137333', e164: '+8613700137333', email: 'alpha@batch.example' },
  { name: 'Batch Person Beta', phone: '+1 415 555 0199', e164: '+14155550199', email: 'beta@batch.example' },
  {
    name: 'Webhook Buyer Kestrel',
    phone: '13600136444',
    e164: '+8613600136444',
    email: 'kestrel@buyer.example',
  },
  {
    name: 'Patched Name Osprey',
    phone: '+44 20 7946 0958',
    e164: '+442079460958',
    email: 'osprey@new.example',
  },
];
const wechatIds = ['wx_qiaoling_zz', 'wxid_xiuying88', 'bjorn_wechat_47'];
const tags = ['tag-vip-zqx', 'tag-tea-lover-zqx', 'tag-removed-zqx'];
const staffNames = ['Amelia Staffwright', 'Henrik Heirsson'];
const shopifyCustomer = {
  first: 'Ada',
  last: 'Parkinsonia',
  email: 'ada.parkinsonia@example.com',
  phone: '+16135550188',
};
const youzanBuyer = { nickname: '小雨 Xiao Yu Zqx', phone: '13500135555' };

function needles(): string[] {
  const out = new Set<string>();
  const add = (value: string) => {
    out.add(value);
    out.add(value.toLowerCase());
    // The same text as JSON would escape it.
    out.add(JSON.stringify(value).slice(1, -1));
    out.add(encodeURIComponent(value));
  };
  for (const p of people) {
    add(p.name);
    add(p.phone);
    add(p.e164);
    add(p.e164.slice(1));
    add(p.email);
  }
  for (const value of [...wechatIds, ...tags, ...staffNames]) add(value);
  add(`${shopifyCustomer.first} ${shopifyCustomer.last}`);
  add(shopifyCustomer.last);
  add(shopifyCustomer.email);
  add(shopifyCustomer.phone);
  add(youzanBuyer.nickname);
  add(youzanBuyer.phone);
  return [...out].filter((n) => n.length >= 6);
}

let stack: TestStack;

beforeAll(async () => {
  capture();
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
  for (const undo of restore.splice(0).reverse()) undo();
});

describe('personal data in logs', () => {
  it('logs none of the names, phones, emails, WeChat ids or tags of a full history', async () => {
    // Prepare: a tenant with staff, an account and shops
    const acme = await tenantSession(stack, 'pii-co');
    await acme.ok('POST', '/v1/staff', { id: 'amy', name: staffNames[0] });
    await acme.ok('POST', '/v1/staff', { id: 'henrik', name: staffNames[1] });
    const account = await acme.ok<{ id: string }>('POST', '/v1/accounts', {
      name: 'Store phone',
      platform: 'wecom',
      operatorStaffId: 'amy',
    });
    const generic = await acme.ok<{ id: string; secret: string }>('POST', '/v1/shops', {
      name: 'Web shop',
      platform: 'generic',
      defaultOwnerStaffId: 'amy',
    });
    const youzan = await acme.ok<{ id: string }>('POST', '/v1/shops', {
      name: 'Youzan',
      platform: 'youzan',
      secret: 'youzan-secret-1',
      clientId: 'youzan-client-1',
    });
    const usd = await tenantSession(stack, 'pii-usd');
    await usd.ok('PUT', '/v1/settings', { currency: 'USD', timezone: 'America/New_York' });
    const shopify = await usd.ok<{ id: string }>('POST', '/v1/shops', {
      name: 'Shopify',
      platform: 'shopify',
      secret: 'shopify-secret-1',
    });

    // Act: contacts, with a duplicate and an invalid one on the way
    const contactIds: string[] = [];
    for (const [i, p] of people.slice(0, 3).entries()) {
      const created = await acme.ok<{ id: string }>('POST', '/v1/contacts', {
        name: p.name,
        phone: p.phone,
        email: p.email,
        wechatId: wechatIds[i],
        tags: tags.slice(0, 2),
        ownerStaffId: 'amy',
        accountId: account.id,
        channel: 'public',
        channelDetail: 'xiaohongshu',
      });
      contactIds.push(created.id);
    }
    const staffToken = await acme.staff('sam');
    await acme.call('POST', '/v1/contacts', {
      name: people[0]!.name,
      phone: people[0]!.phone,
      channel: 'store',
    });
    await acme.call('POST', '/v1/contacts', {
      name: people[1]!.name,
      phone: `${people[1]!.phone}x`,
      channel: 'store',
    });
    await acme.call('POST', '/v1/contacts', {
      name: people[2]!.name,
      email: people[2]!.name,
      channel: 'store',
    });
    await acme.call(
      'POST',
      '/v1/contacts',
      { name: people[0]!.name, email: people[0]!.email, channel: 'store' },
      staffToken,
    );
    await acme.importContacts([
      ...people.slice(3, 5).map((p) => ({ name: p.name, phone: p.phone, email: p.email, channel: 'store' })),
      { name: people[0]!.name, phone: people[0]!.phone, channel: 'store' },
      { name: people[4]!.name, phone: 'not a phone', channel: 'store' },
    ]);
    // Reads and searches by personal data
    await acme.ok('GET', `/v1/contacts?q=${encodeURIComponent(people[0]!.name.slice(0, 6))}`);
    await acme.ok('GET', `/v1/contacts?q=${encodeURIComponent(people[1]!.e164)}`);
    await acme.ok('GET', `/v1/contacts?q=${encodeURIComponent(people[2]!.email)}`);
    await acme.ok('GET', `/v1/contacts?tag=${encodeURIComponent(tags[0]!)}`);
    await acme.call('GET', `/v1/contacts?q=${encodeURIComponent(people[0]!.email)}&bogus=${people[1]!.name}`);
    // Orders through signed webhooks, for a known buyer and a new one
    const order = (id: string, contact: Record<string, string>) =>
      body({
        type: 'order.paid',
        order: { id, total: '99.00', currency: 'CNY', paidAt: '2026-01-05T10:00:00+08:00', contact },
      });
    for (const delivery of [
      signGeneric(order('pii-o1', { phone: people[0]!.phone, name: people[0]!.name }), generic.secret),
      signGeneric(
        order('pii-o2', { phone: people[5]!.phone, email: people[5]!.email, name: people[5]!.name }),
        generic.secret,
      ),
      signGeneric(order('pii-o3', { email: people[1]!.email, name: people[1]!.name }), generic.secret),
      signGeneric(order('pii-o4', { name: people[2]!.name }), generic.secret),
    ]) {
      const res = await deliver(stack, generic.id, delivery);
      expect(res.status, res.text).toBe(200);
      await deliver(stack, generic.id, delivery);
    }
    const badlySigned = signGeneric(order('pii-o5', { phone: people[3]!.phone }), 'not-the-secret');
    expect((await deliver(stack, generic.id, badlySigned)).status).toBe(401);
    const shopifyOrder = fixture<Record<string, unknown>>('shopify-orders-paid');
    Object.assign(shopifyOrder, {
      email: shopifyCustomer.email,
      contact_email: shopifyCustomer.email,
      phone: shopifyCustomer.phone,
      customer: {
        id: 77001,
        email: shopifyCustomer.email,
        phone: shopifyCustomer.phone,
        first_name: shopifyCustomer.first,
        last_name: shopifyCustomer.last,
      },
    });
    const shopifyDelivery = signShopify(body(shopifyOrder), 'shopify-secret-1', { topic: 'orders/paid' });
    expect((await deliver(stack, shopify.id, shopifyDelivery)).status).toBe(200);
    const youzanTrade = youzanWith<{
      full_order_info: { buyer_info: Record<string, unknown>; order_info: { tid: string } };
    }>('youzan-trade-paid', (msg) => {
      msg.full_order_info.buyer_info.buyer_phone = youzanBuyer.phone;
      msg.full_order_info.buyer_info.fans_nickname = youzanBuyer.nickname;
      msg.full_order_info.order_info.tid = 'pii-yz-1';
    });
    const youzanDelivery = signYouzan(body(youzanTrade), {
      clientId: 'youzan-client-1',
      secret: 'youzan-secret-1',
    });
    expect((await deliver(stack, youzan.id, youzanDelivery)).status).toBe(200);
    const unusable = signYouzan(body({ ...youzanTrade, msg: encodeYouzanMsg({ buyer: youzanBuyer }) }), {
      clientId: 'youzan-client-1',
      secret: 'youzan-secret-1',
    });
    expect((await deliver(stack, youzan.id, unusable)).status).toBe(200);
    await acme.ok('POST', '/v1/orders/batch', {
      orders: [
        {
          id: 'pii-import-1',
          total: '10.00',
          currency: 'CNY',
          paidAt: '2026-01-06T00:00:00Z',
          contact: { email: people[3]!.email, name: people[3]!.name },
        },
        {
          id: 'pii-import-2',
          total: 'x',
          currency: 'CNY',
          paidAt: 'x',
          contact: { phone: people[4]!.phone },
        },
      ],
    });
    // A patch (with an idempotent replay), tags, a handover, an RFM run, an erasure
    const patch = {
      name: people[6]!.name,
      phone: people[6]!.phone,
      email: people[6]!.email,
      wechatId: `${wechatIds[0]}-2`,
    };
    for (let i = 0; i < 2; i++) {
      const res = await acme.call('PATCH', `/v1/contacts/${contactIds[0]}`, patch, acme.admin, {
        'idempotency-key': 'pii-patch-1',
      });
      expect(res.status, res.text).toBe(200);
    }
    await acme.call('PATCH', `/v1/contacts/${contactIds[1]}`, { phone: people[6]!.phone });
    await acme.ok('POST', `/v1/contacts/${contactIds[1]}/tags`, { tags: [tags[2]] });
    await acme.ok('DELETE', `/v1/contacts/${contactIds[1]}/tags/${encodeURIComponent(tags[2]!)}`);
    const handover = await acme.ok<{ jobId: string }>('POST', '/v1/staff/amy/handover', {
      toStaffId: 'henrik',
    });
    expect(await acme.job(handover.jobId)).toMatchObject({ status: 'succeeded' });
    const rfm = await acme.ok<{ jobId: string }>('POST', '/v1/jobs/rfm', {});
    expect(await acme.job(rfm.jobId)).toMatchObject({ status: 'succeeded' });
    await acme.ok('GET', '/v1/metrics/funnel?from=2026-01-01&to=2026-12-31&by=owner');
    const erase = await acme.call('DELETE', `/v1/contacts/${contactIds[0]}`);
    expect(erase.status).toBe(204);
    await acme.call('DELETE', `/v1/contacts/${contactIds[0]}`);
    await acme.ok('GET', `/v1/shops/${generic.id}/deliveries`);
    await stack.drain();

    // Assess: the logs were captured (every request logs a line), and carry none of the data
    const text = captured.join('');
    const requestLines = captured.filter((line) => line.includes('"message":"request"'));
    expect(requestLines.length, 'the handlers’ request logs were captured').toBeGreaterThan(40);
    expect(text).toContain('"message":"webhook"');
    expect(text).toContain('"message":"job run"');
    const found = needles().filter((needle) => text.includes(needle));
    const lines = found.map((needle) => captured.find((line) => line.includes(needle))!.slice(0, 400));
    expect(found, lines.join('\n')).toEqual([]);
  }, 300_000);
});
