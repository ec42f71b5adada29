import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type Shard,
  type ShardIteratorType,
  type _Record as StreamApiRecord,
  type AttributeValue as StreamAttributeValue,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { StreamConsumerDecl } from '../../shared/app/types.js';
import { LOCAL_AWS } from './dynamodb-local.js';
import { localLog, sleep } from './log.js';

export interface OutboxPollerOptions {
  tableName: string;
  dynamoEndpoint: string;
  region?: string;
  /** Runs the stream consumer's handler with one batch; may answer `batchItemFailures`. */
  invoke: (event: DynamoDBStreamEvent) => Promise<unknown>;
  /** Where the last processed sequence number per shard is kept; in memory only when left out. */
  checkpointFile?: string;
  intervalMs?: number;
  /** Records per handler call (the event source mapping's batch size). */
  batchSize?: number;
  /** The records the consumer is handed (the event source mapping's filter); all when left out. */
  filter?: StreamConsumerDecl['filter'];
}

interface ShardState {
  shard: Shard;
  /** Last sequence number handled successfully. */
  checkpoint?: string;
  /** Retry from this record (a reported batch item failure). */
  retryAt?: string;
  iterator?: string;
  finished: boolean;
  failures: number;
  notBefore: number;
}

interface CycleResult {
  processed: number;
  /** Records may be waiting already (a full page, a shard just finished). */
  more: boolean;
  /** A batch failed and waits for its retry. */
  blocked: boolean;
}

interface CheckpointFile {
  streamArn: string;
  shards: Record<string, string>;
}

const SHARD_REFRESH_MS = 1000;
/** GetRecords returns at most 1,000 records. */
const MAX_RECORDS_PER_PAGE = 1000;
/** Pages a filtered consumer's poller reads at most to fill one batch. */
const MAX_FILTERED_PAGES = 20;

/**
 * Plays the part of the Lambda event source mapping on the table stream: reads every shard in
 * order (a parent before its children), hands each batch to the stream consumer as a DynamoDB
 * stream event, honours `batchItemFailures` (retry from the reported record, with backoff), and
 * keeps a checkpoint per shard so a restart neither loses nor replays much.
 */
export class OutboxPoller {
  private readonly ddb: DynamoDBClient;
  private readonly streams: DynamoDBStreamsClient;
  private readonly shards = new Map<string, ShardState>();
  private streamArn: string | undefined;
  private shardsRefreshedAt = 0;
  private saved: CheckpointFile | undefined;
  private stopped = false;
  private failing = false;
  private running: Promise<void> | undefined;
  private wake = new AbortController();
  private cycleStarted = 0;
  private cycleWaiters: { after: number; resolve: (r: CycleResult) => void }[] = [];

  constructor(private readonly options: OutboxPollerOptions) {
    const config = {
      ...LOCAL_AWS,
      region: options.region ?? LOCAL_AWS.region,
      endpoint: options.dynamoEndpoint,
    };
    this.ddb = new DynamoDBClient(config);
    this.streams = new DynamoDBStreamsClient(config);
    this.saved = this.readCheckpoint();
  }

  start(): void {
    if (this.running) return;
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake.abort();
    await this.running;
    this.ddb.destroy();
    this.streams.destroy();
  }

  /**
   * Resolves once a full pass over the stream found nothing left to do, with the number of
   * records handled meanwhile.
   */
  async catchUp(): Promise<number> {
    let total = 0;
    for (;;) {
      if (this.stopped) return total;
      const result = await this.nextCycle();
      total += result.processed;
      if (result.processed === 0 && !result.more && !result.blocked) return total;
    }
  }

  /** Waits for a cycle that starts after this call. */
  private nextCycle(): Promise<CycleResult> {
    return new Promise((resolve) => {
      this.cycleWaiters.push({ after: this.cycleStarted, resolve });
      this.wake.abort();
    });
  }

  private async loop(): Promise<void> {
    const interval = this.options.intervalMs ?? 100;
    while (!this.stopped) {
      const number = ++this.cycleStarted;
      let result: CycleResult = { processed: 0, more: false, blocked: false };
      try {
        result = await this.cycle();
      } catch (error) {
        // Logged once per failure streak (DynamoDB Local down: every cycle would fail alike).
        if (!this.failing) localLog.warn('stream poll failed', { tableName: this.options.tableName, error });
        this.failing = true;
        this.streamArn = undefined;
        result.blocked = true;
      }
      if (!result.blocked) this.failing = false;
      const done = this.cycleWaiters.filter((w) => w.after < number);
      this.cycleWaiters = this.cycleWaiters.filter((w) => w.after >= number);
      for (const waiter of done) waiter.resolve(result);
      if (this.stopped) break;
      if (result.more) continue;
      if (this.wake.signal.aborted) this.wake = new AbortController();
      if (this.cycleWaiters.length) continue;
      await sleep(result.blocked ? Math.max(interval, 200) : interval, this.wake.signal);
      if (this.wake.signal.aborted) this.wake = new AbortController();
    }
    for (const waiter of this.cycleWaiters) waiter.resolve({ processed: 0, more: false, blocked: false });
    this.cycleWaiters = [];
  }

  private async cycle(): Promise<CycleResult> {
    const result: CycleResult = { processed: 0, more: false, blocked: false };
    await this.refreshShards();
    if (!this.streamArn) return result;
    for (const state of this.ordered()) {
      if (this.stopped) break;
      if (state.finished) continue;
      const parent = state.shard.ParentShardId ? this.shards.get(state.shard.ParentShardId) : undefined;
      if (parent && !parent.finished) continue;
      if (Date.now() < state.notBefore) {
        result.blocked = true;
        continue;
      }
      const outcome = await this.pollShard(state);
      result.processed += outcome.processed;
      result.more ||= outcome.more;
      result.blocked ||= outcome.blocked;
    }
    return result;
  }

  private async pollShard(state: ShardState): Promise<CycleResult> {
    const streamArn = this.streamArn!;
    const batchSize = this.options.batchSize ?? 100;
    if (!state.iterator) {
      let type: ShardIteratorType = 'TRIM_HORIZON';
      let sequence: string | undefined;
      if (state.retryAt) [type, sequence] = ['AT_SEQUENCE_NUMBER', state.retryAt];
      else if (state.checkpoint) [type, sequence] = ['AFTER_SEQUENCE_NUMBER', state.checkpoint];
      try {
        const out = await this.streams.send(
          new GetShardIteratorCommand({
            StreamArn: streamArn,
            ShardId: state.shard.ShardId,
            ShardIteratorType: type,
            ...(sequence ? { SequenceNumber: sequence } : {}),
          }),
        );
        state.iterator = out.ShardIterator;
      } catch (error) {
        if (!(error instanceof TrimmedDataAccessException)) throw error;
        localLog.warn('checkpoint older than the stream retention; reading from the oldest record', {
          shardId: state.shard.ShardId,
        });
        delete state.checkpoint;
        delete state.retryAt;
        return { processed: 0, more: true, blocked: false };
      }
      if (!state.iterator) {
        state.finished = true;
        return { processed: 0, more: true, blocked: false };
      }
    }

    let page: { Records?: StreamApiRecord[]; NextShardIterator?: string };
    try {
      page = await this.streams.send(
        new GetRecordsCommand({
          ShardIterator: state.iterator,
          // A filtered consumer's batch is filled from as many records as it takes (below).
          Limit: this.options.filter ? MAX_RECORDS_PER_PAGE : Math.min(MAX_RECORDS_PER_PAGE, batchSize),
        }),
      );
    } catch (error) {
      if (error instanceof ExpiredIteratorException || error instanceof TrimmedDataAccessException) {
        delete state.iterator;
        if (error instanceof TrimmedDataAccessException) delete state.checkpoint;
        return { processed: 0, more: true, blocked: false };
      }
      throw error;
    }
    let records = page.Records ?? [];
    if (!records.length) {
      state.iterator = page.NextShardIterator;
      if (!page.NextShardIterator) {
        state.finished = true;
        this.shardsRefreshedAt = 0;
        return { processed: 0, more: true, blocked: false };
      }
      return { processed: 0, more: false, blocked: false };
    }
    let next = page.NextShardIterator;
    let full = records.length >= batchSize;
    const filter = this.options.filter;
    if (filter) {
      // A mapping filters before it batches: read on until the batch holds batchSize records of
      // the consumer (or the shard has no more now), then cut it after the last one it takes.
      const wanted = () => records.filter((r) => matches(r, filter)).length;
      for (let pages = 1; next && wanted() < batchSize && pages < MAX_FILTERED_PAGES; pages++) {
        let more: { Records?: StreamApiRecord[]; NextShardIterator?: string };
        try {
          more = await this.streams.send(
            new GetRecordsCommand({ ShardIterator: next, Limit: MAX_RECORDS_PER_PAGE }),
          );
        } catch (error) {
          if (!(error instanceof ExpiredIteratorException || error instanceof TrimmedDataAccessException))
            throw error;
          next = undefined; // read on from the checkpoint next time
          full = true;
          break;
        }
        next = more.NextShardIterator;
        if (!more.Records?.length) break;
        records = [...records, ...more.Records];
      }
      let taken = 0;
      const cut = records.findIndex((r) => matches(r, filter) && ++taken === batchSize);
      full = full || wanted() >= batchSize || (next !== undefined && records.length >= batchSize);
      if (cut >= 0 && cut < records.length - 1) {
        records = records.slice(0, cut + 1);
        next = undefined; // the records after the cut are read again from the checkpoint
        full = true;
      }
    }
    const ended = !next && !full;

    const handled = await this.handle(streamArn, records);
    if (handled === records.length) {
      state.checkpoint = records[records.length - 1]!.dynamodb?.SequenceNumber ?? state.checkpoint;
      delete state.retryAt;
      if (next) state.iterator = next;
      else delete state.iterator;
      if (ended) {
        state.finished = true;
        this.shardsRefreshedAt = 0;
      }
      state.failures = 0;
      this.writeCheckpoint();
      return {
        processed: records.length,
        more: full || state.finished,
        blocked: false,
      };
    }
    // Records before the failed one are done; the next attempt starts at the failed one.
    if (handled > 0) state.checkpoint = records[handled - 1]!.dynamodb?.SequenceNumber ?? state.checkpoint;
    const failed = records[handled]!.dynamodb?.SequenceNumber;
    if (failed) state.retryAt = failed;
    delete state.iterator;
    state.failures++;
    state.notBefore = Date.now() + Math.min(10_000, 250 * 2 ** (state.failures - 1));
    this.writeCheckpoint();
    return { processed: handled, more: false, blocked: true };
  }

  /** Runs the consumer on one batch; returns how many leading records succeeded. */
  private async handle(streamArn: string, all: StreamApiRecord[]): Promise<number> {
    // Records the filter leaves out are done without an invocation, as with a mapping's filter.
    const filter = this.options.filter;
    const records = filter ? all.filter((record) => matches(record, filter)) : all;
    if (!records.length) return all.length;
    const event: DynamoDBStreamEvent = {
      Records: records.map((record) =>
        lambdaRecord(record, streamArn, this.options.region ?? LOCAL_AWS.region),
      ),
    };
    let response: unknown;
    try {
      response = await this.options.invoke(event);
    } catch (error) {
      localLog.error('stream consumer failed; the batch will be retried', {
        records: records.length,
        error,
      });
      return all.indexOf(records[0]!);
    }
    const failures = (response as DynamoDBBatchResponse | undefined)?.batchItemFailures ?? [];
    const ids = failures.map((f) => f.itemIdentifier).filter((id) => id !== undefined && id !== '');
    if (!ids.length) return all.length;
    const positions = ids.map((id) => records.findIndex((r) => r.dynamodb?.SequenceNumber === id));
    // An identifier that names no record of the batch fails the whole batch (as Lambda does).
    const first = positions.some((p) => p < 0) ? 0 : Math.min(...positions);
    localLog.warn('stream consumer reported a failed record; retrying from it', {
      sequenceNumber: records[first]?.dynamodb?.SequenceNumber,
    });
    return all.indexOf(records[first]!);
  }

  private async refreshShards(): Promise<void> {
    if (this.streamArn && Date.now() - this.shardsRefreshedAt < SHARD_REFRESH_MS) return;
    if (!this.streamArn) {
      const table = await this.ddb.send(new DescribeTableCommand({ TableName: this.options.tableName }));
      const arn = table.Table?.LatestStreamArn;
      if (!arn || !table.Table?.StreamSpecification?.StreamEnabled) return;
      if (arn !== this.streamArn) {
        this.shards.clear();
        this.streamArn = arn;
        if (this.saved && this.saved.streamArn !== arn) {
          localLog.info('table stream changed; the stream checkpoint starts over', {
            tableName: this.options.tableName,
          });
          this.saved = undefined;
        }
      }
    }
    const found: Shard[] = [];
    let start: string | undefined;
    do {
      const out = await this.streams.send(
        new DescribeStreamCommand({ StreamArn: this.streamArn, ExclusiveStartShardId: start }),
      );
      found.push(...(out.StreamDescription?.Shards ?? []));
      start = out.StreamDescription?.LastEvaluatedShardId;
    } while (start);
    for (const shard of found) {
      const id = shard.ShardId!;
      const known = this.shards.get(id);
      if (known) {
        known.shard = shard;
        continue;
      }
      const checkpoint = this.saved?.shards[id];
      this.shards.set(id, {
        shard,
        ...(checkpoint ? { checkpoint } : {}),
        finished: false,
        failures: 0,
        notBefore: 0,
      });
    }
    // Shards that left the stream (trimmed) are forgotten.
    const ids = new Set(found.map((s) => s.ShardId));
    for (const id of this.shards.keys()) if (!ids.has(id)) this.shards.delete(id);
    this.shardsRefreshedAt = Date.now();
  }

  /** Shards with each parent before its children, otherwise by starting sequence number. */
  private ordered(): ShardState[] {
    const states = [...this.shards.values()].sort((a, b) =>
      compareSequence(
        a.shard.SequenceNumberRange?.StartingSequenceNumber,
        b.shard.SequenceNumberRange?.StartingSequenceNumber,
      ),
    );
    const out: ShardState[] = [];
    const seen = new Set<string>();
    const visit = (state: ShardState) => {
      const id = state.shard.ShardId!;
      if (seen.has(id)) return;
      seen.add(id);
      const parent = state.shard.ParentShardId ? this.shards.get(state.shard.ParentShardId) : undefined;
      if (parent) visit(parent);
      out.push(state);
    };
    for (const state of states) visit(state);
    return out;
  }

  private readCheckpoint(): CheckpointFile | undefined {
    const file = this.options.checkpointFile;
    if (!file) return undefined;
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as CheckpointFile;
      if (typeof parsed.streamArn === 'string' && parsed.shards && typeof parsed.shards === 'object')
        return parsed;
    } catch {
      // no checkpoint yet: start from the oldest record
    }
    return undefined;
  }

  private writeCheckpoint(): void {
    if (!this.streamArn) return;
    const shards: Record<string, string> = {};
    for (const [id, state] of this.shards) if (state.checkpoint) shards[id] = state.checkpoint;
    this.saved = { streamArn: this.streamArn, shards };
    const file = this.options.checkpointFile;
    if (!file) return;
    mkdirSync(dirname(file), { recursive: true });
    const temp = `${file}.tmp`;
    writeFileSync(temp, `${JSON.stringify(this.saved)}\n`);
    renameSync(temp, file);
  }
}

/** Whether a record passes a consumer's filter (event name, key prefixes), as a mapping's filter does. */
function matches(record: StreamApiRecord, filter: NonNullable<OutboxPollerOptions['filter']>): boolean {
  if (filter.eventNames && !filter.eventNames.includes(record.eventName as 'INSERT')) return false;
  const keys = record.dynamodb?.Keys;
  if (!keys?.pk?.S?.startsWith(filter.pkPrefix)) return false;
  return filter.skPrefix === undefined || Boolean(keys.sk?.S?.startsWith(filter.skPrefix));
}

function compareSequence(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  return a.length - b.length || (a < b ? -1 : 1);
}

/** A Streams API record in the shape Lambda delivers it (epoch seconds, base64 binaries). */
function lambdaRecord(record: StreamApiRecord, streamArn: string, region: string): DynamoDBRecord {
  const data = record.dynamodb ?? {};
  const image = (value: Record<string, StreamAttributeValue> | undefined) =>
    value ? (toJsonAttributes(value) as NonNullable<DynamoDBRecord['dynamodb']>['NewImage']) : undefined;
  const dynamodb: NonNullable<DynamoDBRecord['dynamodb']> = {
    ...(data.ApproximateCreationDateTime
      ? { ApproximateCreationDateTime: Math.floor(data.ApproximateCreationDateTime.getTime() / 1000) }
      : {}),
    ...(data.Keys ? { Keys: image(data.Keys) } : {}),
    ...(data.NewImage ? { NewImage: image(data.NewImage) } : {}),
    ...(data.OldImage ? { OldImage: image(data.OldImage) } : {}),
    ...(data.SequenceNumber ? { SequenceNumber: data.SequenceNumber } : {}),
    ...(data.SizeBytes !== undefined ? { SizeBytes: data.SizeBytes } : {}),
    ...(data.StreamViewType ? { StreamViewType: data.StreamViewType } : {}),
  };
  return {
    ...(record.eventID ? { eventID: record.eventID } : {}),
    ...(record.eventName ? { eventName: record.eventName } : {}),
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: region,
    dynamodb,
    eventSourceARN: streamArn,
  };
}

function toJsonAttributes(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toJsonAttributes);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJsonAttributes(v);
    return out;
  }
  return value;
}
