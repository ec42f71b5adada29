import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Deps } from '../app/deps.js';
import { contactKeys, getContacts, stageContactChange } from '../db/contact-store.js';
import { keys } from '../db/keys.js';
import { countAll } from '../db/query.js';
import { GSI1 } from '../db/table-definition.js';
import { readSettings } from '../db/tenant-store.js';
import { UnitOfWork } from '../db/unit-of-work.js';
import type { JobDefinition, JobRecord, StepOutcome } from '../jobs/job.js';

export const HANDOVER_KIND = 'handover';

export interface HandoverParams {
  fromStaffId: string;
  toStaffId: string;
}

interface HandoverCheckpoint {
  phase: 'contacts' | 'accounts' | 'shops';
  movedContacts: number;
  movedAccounts: number;
  movedShops?: number;
  accountsFrom?: Record<string, unknown>;
  shopsFrom?: Record<string, unknown>;
}

/** Items one step may stage, leaving room for the checkpoint in the same transaction. */
const STEP_ITEM_BUDGET = 80;
const CONTACTS_PER_READ = 8;
const ACCOUNTS_PER_STEP = 50;

/**
 * Moves a leaver's contacts and accounts to a colleague.
 *  1. Contacts: take the head of the leaver's owner index (moved contacts leave it, so the index
 *     itself is the work list), and move as many as fit one transaction — owner, list entries and
 *     funnel cells together — committed with the checkpoint. A rerun finds nothing to move.
 *  2. Accounts: page through the tenant's accounts and re-assign those the leaver operates.
 */
export const handoverJob: JobDefinition<HandoverParams, HandoverCheckpoint, Deps> = {
  kind: HANDOVER_KIND,

  async begin(job, deps) {
    const total = await countAll(deps, {
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': contactKeys.index(job.tenantId, 'owner', job.params.fromStaffId) },
    });
    return { checkpoint: { phase: 'contacts', movedContacts: 0, movedAccounts: 0 }, total };
  },

  async step(job, deps, uow) {
    const { fromStaffId, toStaffId } = job.params;
    const cp = job.checkpoint;
    if (cp.phase === 'contacts') {
      const moved = await moveContacts(deps, uow, job.tenantId, fromStaffId, toStaffId);
      const movedContacts = cp.movedContacts + moved;
      const total = Math.max(job.progress.total, movedContacts);
      return {
        checkpoint: moved === 0 ? { ...cp, phase: 'accounts' } : { ...cp, movedContacts },
        progress: { done: movedContacts, total },
        finished: false,
      };
    }
    if (cp.phase === 'shops') return moveShops(job, deps, uow);
    const page = await deps.db.send(
      new QueryCommand({
        TableName: deps.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        FilterExpression: 'operatorStaffId = :from',
        ExpressionAttributeValues: {
          ':pk': keys.account(job.tenantId, '').pk,
          ':prefix': 'ACCOUNT#',
          ':from': fromStaffId,
        },
        ExclusiveStartKey: cp.accountsFrom,
        Limit: ACCOUNTS_PER_STEP,
        ConsistentRead: true,
      }),
    );
    const now = deps.now().toISOString();
    for (const account of page.Items ?? []) {
      uow.update({
        key: { pk: account.pk, sk: account.sk },
        expression: 'SET operatorStaffId = :to, updatedAt = :now',
        values: { ':to': toStaffId, ':now': now, ':from': fromStaffId },
        condition: { expression: 'operatorStaffId = :from' },
      });
    }
    const movedAccounts = cp.movedAccounts + (page.Items?.length ?? 0);
    const { accountsFrom: _done, ...rest } = cp;
    return {
      checkpoint: page.LastEvaluatedKey
        ? { ...rest, movedAccounts, accountsFrom: page.LastEvaluatedKey }
        : { ...rest, movedAccounts, phase: 'shops', movedShops: 0 },
      progress: job.progress,
      finished: false,
    };
  },
};

/** Shops whose default owner is the leaver get the colleague (their future buyers follow). */
async function moveShops(
  job: JobRecord<HandoverParams, HandoverCheckpoint>,
  deps: Deps,
  uow: UnitOfWork,
): Promise<StepOutcome<HandoverCheckpoint>> {
  const cp = job.checkpoint!;
  const page = await deps.db.send(
    new QueryCommand({
      TableName: deps.tableName,
      IndexName: GSI1,
      KeyConditionExpression: 'gsi1pk = :pk',
      FilterExpression: 'defaultOwnerStaffId = :from',
      ExpressionAttributeValues: { ':pk': keys.shopsOf(job.tenantId), ':from': job.params.fromStaffId },
      ExclusiveStartKey: cp.shopsFrom,
      Limit: ACCOUNTS_PER_STEP,
    }),
  );
  const now = deps.now().toISOString();
  for (const shop of page.Items ?? []) {
    uow.update({
      key: { pk: shop.pk, sk: shop.sk },
      expression: 'SET defaultOwnerStaffId = :to, updatedAt = :now',
      values: { ':to': job.params.toStaffId, ':now': now, ':from': job.params.fromStaffId },
      condition: { expression: 'defaultOwnerStaffId = :from' },
    });
  }
  const movedShops = (cp.movedShops ?? 0) + (page.Items?.length ?? 0);
  const { shopsFrom: _done, ...rest } = cp;
  const finished = !page.LastEvaluatedKey;
  return {
    checkpoint: finished
      ? { ...rest, movedShops }
      : { ...rest, movedShops, shopsFrom: page.LastEvaluatedKey },
    progress: job.progress,
    finished,
    ...(finished
      ? { result: { movedContacts: cp.movedContacts, movedAccounts: cp.movedAccounts, movedShops } }
      : {}),
  };
}

async function moveContacts(
  deps: Deps,
  uow: UnitOfWork,
  tenantId: string,
  fromStaffId: string,
  toStaffId: string,
): Promise<number> {
  const head = await deps.db.send(
    new QueryCommand({
      TableName: deps.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': contactKeys.index(tenantId, 'owner', fromStaffId) },
      Limit: CONTACTS_PER_READ,
      ConsistentRead: true,
    }),
  );
  const ids = (head.Items ?? []).map((i) => i.contactId as string);
  if (!ids.length) return 0;
  const settings = await readSettings(deps, tenantId);
  const contacts = await getContacts(deps, tenantId, ids, true);
  const now = deps.now().toISOString();
  let moved = 0;
  // Every change so far plus the next one, measured first: the whole step must stay one
  // transaction (moves on a funnel item the contacts share count once).
  const scratch = new UnitOfWork(deps.tableName);
  for (const before of contacts) {
    if (before.ownerStaffId !== fromStaffId) continue;
    const change = {
      before,
      after: { ...before, ownerStaffId: toStaffId },
      timeZone: settings.settings.timezone,
      at: now,
    };
    stageContactChange(scratch, change);
    if (scratch.size > STEP_ITEM_BUDGET && moved > 0) break;
    stageContactChange(uow, change);
    moved++;
  }
  return moved;
}
