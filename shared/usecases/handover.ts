import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Deps } from '../app/deps.js';
import { contactKeys, getContacts, stageContactChange } from '../db/contact-store.js';
import { keys } from '../db/keys.js';
import { readSettings } from '../db/tenant-store.js';
import { UnitOfWork } from '../db/unit-of-work.js';
import type { JobDefinition } from '../jobs/job.js';

export const HANDOVER_KIND = 'handover';

export interface HandoverParams {
  fromStaffId: string;
  toStaffId: string;
}

interface HandoverCheckpoint {
  phase: 'contacts' | 'accounts';
  movedContacts: number;
  movedAccounts: number;
  accountsFrom?: Record<string, unknown>;
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
    let total = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await deps.db.send(
        new QueryCommand({
          TableName: deps.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: {
            ':pk': contactKeys.index(job.tenantId, 'owner', job.params.fromStaffId),
          },
          Select: 'COUNT',
          ExclusiveStartKey: start,
        }),
      );
      total += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
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
    const finished = !page.LastEvaluatedKey;
    const { accountsFrom: _done, ...rest } = cp;
    return {
      checkpoint: finished
        ? { ...rest, movedAccounts }
        : { ...rest, movedAccounts, accountsFrom: page.LastEvaluatedKey },
      progress: job.progress,
      finished,
      ...(finished ? { result: { movedContacts: cp.movedContacts, movedAccounts } } : {}),
    };
  },
};

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
  let staged = 0;
  for (const before of contacts) {
    if (before.ownerStaffId !== fromStaffId) continue;
    const change = {
      before,
      after: { ...before, ownerStaffId: toStaffId },
      timeZone: settings.settings.timezone,
      at: now,
    };
    // Measure on a scratch unit first: the whole step must stay one transaction.
    const scratch = new UnitOfWork(deps.tableName);
    stageContactChange(scratch, change);
    if (staged + scratch.size > STEP_ITEM_BUDGET && moved > 0) break;
    stageContactChange(uow, change);
    staged += scratch.size;
    moved++;
  }
  return moved;
}
