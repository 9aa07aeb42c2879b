import { afterEach, describe, expect, it } from 'vitest';
import { type Cloud, createCloud } from '../../src/cloud.js';
import { InsufficientCapacityError } from '../../src/errors.js';
import { JobService } from '../../src/orchestration/jobs.js';
import { ManagementServer } from '../../src/orchestration/management-server.js';
import { sqliteStore } from '../../src/store/sqlite-store.js';

describe('async jobs', () => {
  let cloud: Cloud;
  afterEach(async () => cloud?.close());

  it('records status, progress and result, with Scheduled, Started and Completed events', async () => {
    cloud = await createCloud({ store: sqliteStore() });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const job = await cloud.jobs.submit(
      { cmd: 'probe', info: { a: 1 }, eventType: 'PROBE.RUN', description: 'probe' },
      async (handle) => {
        await handle.progress(40, 'halfway');
        await gate;
        return { answer: 42 };
      },
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(await cloud.jobs.get(job.id)).toMatchObject({
      status: 'IN_PROGRESS',
      statusCode: 0,
      progress: 40,
      progressMessage: 'halfway',
      cmd: 'probe',
    });
    release();
    expect(await job.result).toEqual({ answer: 42 });
    const done = await cloud.jobs.wait(job.id);
    expect(done).toMatchObject({
      status: 'SUCCEEDED',
      statusCode: 1,
      progress: 100,
      resultCode: 0,
      result: { answer: 42 },
    });
    expect(done.completed).toBeInstanceOf(Date);
    const events = (await cloud.events.list({ type: 'PROBE.RUN' })).reverse();
    expect(events.map((e) => e.state)).toEqual(['Scheduled', 'Started', 'Completed']);
    expect(events[1]!.startId).toBe(events[0]!.id);
  });

  it('fails with the error code and text; runs jobs on one entity one at a time', async () => {
    cloud = await createCloud({ store: sqliteStore() });
    const order: string[] = [];
    const instance = { type: 'VirtualMachine' as const, id: 7 };
    const slow = await cloud.jobs.submit({ cmd: 'a', instance, eventType: 'X', description: 'a' }, async () => {
      order.push('a-start');
      await new Promise((r) => setTimeout(r, 30));
      order.push('a-end');
      throw new InsufficientCapacityError('no room');
    });
    const next = await cloud.jobs.submit({ cmd: 'b', instance, eventType: 'X', description: 'b' }, async () => {
      order.push('b');
      return 'ok';
    });
    await expect(slow.result).rejects.toThrow('no room');
    expect(await next.result).toBe('ok');
    expect(order).toEqual(['a-start', 'a-end', 'b']);
    expect(await cloud.jobs.get(slow.id)).toMatchObject({
      status: 'FAILED',
      statusCode: 2,
      resultCode: 533,
      result: { errorcode: 533, errortext: 'no room', code: 'INSUFFICIENT_CAPACITY' },
    });
  });

  it('cancels a running job through its signal', async () => {
    cloud = await createCloud({ store: sqliteStore() });
    const job = await cloud.jobs.submit({ cmd: 'long', eventType: 'X', description: 'long' }, async (handle) => {
      await new Promise((_, reject) => handle.signal.addEventListener('abort', () => reject(handle.signal.reason)));
    });
    await new Promise((r) => setTimeout(r, 10));
    await cloud.jobs.cancel(job.id);
    await expect(job.result).rejects.toThrow(/cancelled/);
    expect((await cloud.jobs.get(job.id)).status).toBe('CANCELLED');
  });

  it('fails the jobs of a management server that died, and purges expired ones', async () => {
    cloud = await createCloud({ store: sqliteStore() });
    // Another "process" on the same store starts a job and dies without finishing it.
    const other = new ManagementServer(cloud.context);
    await other.start();
    const otherJobs = new JobService(cloud.context, other);
    void (await otherJobs.submit({ cmd: 'orphan', eventType: 'X', description: 'orphan' }, () => new Promise(() => {})))
      .result;
    await other.stop();
    const ended = await cloud.jobs.recoverOrphans();
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ cmd: 'orphan', status: 'FAILED', resultCode: 530 });
    expect(await cloud.jobs.purgeExpired(-1)).toBe(1);
    expect(await cloud.jobs.list()).toEqual([]);
  });

  it('writes progress with the transaction it is reported in, and otherwise at most every 250 ms', async () => {
    cloud = await createCloud({ store: sqliteStore() });
    const stored = async (id: number) => {
      const row = await cloud.store.db
        .selectFrom('asyncJobs')
        .select(['processStatus', 'progressMessage'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      return [Number(row.processStatus), row.progressMessage];
    };
    const states = async () => (await cloud.events.list({ type: 'PROBE.RUN' })).map((e) => e.state).reverse();
    // The body and the test take turns: each side hands over and waits for the other.
    let toTest!: () => void;
    let toBody!: () => void;
    const turn = (side: 'body' | 'test') =>
      new Promise<void>((resolve) => {
        if (side === 'body') toBody = resolve;
        else toTest = resolve;
      });
    let testTurn = turn('test');
    const handOver = async () => {
      const mine = turn('body');
      toTest();
      await mine;
    };
    const yieldToBody = async () => {
      testTurn = turn('test');
      toBody();
      await testTurn;
    };
    const job = await cloud.jobs.submit({ cmd: 'probe', eventType: 'PROBE.RUN', description: 'probe' }, async (h) => {
      await h.progress(10, 'outside');
      await handOver();
      await cloud.context.write(() => h.progress(50, 'inside'));
      await handOver();
      await h.progress(60, 'outside again');
      await h.progress(70, 'and again');
      await handOver();
      return 'done';
    });
    await testTurn;
    // Reported outside a transaction: this process sees it, the store has it within 250 ms.
    expect(await cloud.jobs.get(job.id)).toMatchObject({ progress: 10, progressMessage: 'outside' });
    expect(await stored(job.id)).toEqual([0, null]);
    expect(await states()).toEqual(['Scheduled']);
    await new Promise((r) => setTimeout(r, 300));
    expect(await stored(job.id)).toEqual([10, 'outside']);
    // Reported inside a transaction: written with it, and the Started event with it.
    await yieldToBody();
    expect(await stored(job.id)).toEqual([50, 'inside']);
    expect(await states()).toEqual(['Scheduled', 'Started']);
    await yieldToBody();
    expect((await cloud.jobs.get(job.id)).progress).toBe(70);
    expect(await stored(job.id)).toEqual([50, 'inside']);
    await new Promise((r) => setTimeout(r, 300));
    expect(await stored(job.id)).toEqual([70, 'and again']);
    toBody();
    expect(await job.result).toBe('done');
    expect(await stored(job.id)).toEqual([100, 'and again']);
    expect(await states()).toEqual(['Scheduled', 'Started', 'Completed']);
  });
});
