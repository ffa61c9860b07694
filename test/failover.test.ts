/**
 * The health monitor and failover (docs/health.md), on a board of probe guests
 * (guests/probe): a sender and a receiver, each protected by replication to a backup of
 * its own, under every fault the issue names. The probes check from inside that no
 * message is lost, reordered or seen twice across a failover (output commit) and that
 * their memory is whole; the cores' events say who ran the VM when, and every failover
 * is held against the bounds the cores computed before the board started.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readScenario } from '../host/scenario.js';
import { runFerry } from './helpers/ferry-cli.js';
import { ROOT } from './helpers/paths.js';
import { DoubleActiveWatch, runBoard } from '../host/board-runner.js';
import type { PlacedProcessor, PlacedVm } from '../host/board-runner.js';
import type { CoreRuntime } from '../host/core-runtime.js';
import type { ProtectionPlan } from '../host/health.js';
import { VmDirectory } from '../host/vm-directory.js';
import { ProtectionLostReason } from '../host/numbers.js';
import type { BoardRunResult } from '../host/board-runner.js';
import type { FaultEvent } from '../host/faults.js';
import type { Board } from '../host/board.js';
import { guaranteeBoard, probeError, probesHealthy } from './helpers/guarantee-board.js';
import type { BoardSpec, VmSpec } from './helpers/guarantee-board.js';

const MS = 1_000_000n;
const FRAME_NS = 10_000_000;
const WINDOW = [{ offsetNs: 0, durationNs: 3_000_000 }];

/**
 * tx on 0 (copy on 2), rx on 1 (copy on 3): each processor's first 3 ms of the frame; a
 * fifth processor votes, so that a quorum (3 of 5) survives two failures.
 */
function pairBoard(policies: string[], extra: Partial<BoardSpec> = {}, vms: Partial<Record<'tx' | 'rx', Partial<VmSpec>>> = {}): Board {
  return guaranteeBoard({
    processors: [0, 1, 2, 3, 4].map(() => ({ majorFrameNs: FRAME_NS })),
    vms: [
      { name: 'tx', image: 'probe-tx.elf', processor: 0, windows: WINDOW, protection: { policies, backup: 2, checkpointInterval: '10ms' }, ...vms.tx },
      { name: 'rx', image: 'probe-rx.elf', processor: 1, windows: WINDOW, protection: { policies, backup: 3, checkpointInterval: '10ms' }, ...vms.rx },
    ],
    channels: [{ name: 'q', kind: 'queuing', from: 'tx', to: 'rx' }],
    health: { heartbeat: '1ms' },
    ...extra,
  });
}

async function run(board: Board, faults: FaultEvent[], durationMs = 600n, seed = 0): Promise<BoardRunResult> {
  return runBoard({ board, durationNs: durationMs * MS, faults, seed });
}

/** Messages of channel q the receiver's end took (where it lives at the end). */
function delivered(result: BoardRunResult): bigint {
  return result.channels.find((channel) => channel.name === 'q')!.delivered;
}

function failovers(result: BoardRunResult, vm: string) {
  return result.health!.events.failovers.filter((failover) => failover.vm === vm);
}

function boundsOf(result: BoardRunResult, vm: string) {
  return result.health!.setup.protections.find((protection) => protection.vm === vm)!;
}

/** The probes that are still somewhere (a VM whose processor failed is lost) found nothing wrong. */
function noProbeErrors(result: BoardRunResult): string[] {
  return result.vms.flatMap((vm) => (probeError(vm.console) === undefined ? [] : [`${vm.name}: ${probeError(vm.console)}`]));
}

/** Each failover of `vm` measured against its bounds: interruption from the fault, lost work from the state resumed. */
function expectWithinBounds(result: BoardRunResult, vm: string, faultNs: bigint): void {
  const bounds = boundsOf(result, vm);
  for (const failover of failovers(result, vm)) {
    expect(failover.firstRunNs, `${vm} ran again`).toBeDefined();
    expect(failover.firstRunNs! - faultNs).toBeLessThanOrEqual(bounds.interruptionBoundNs);
    if (failover.resumedFromNs !== undefined) expect(faultNs - failover.resumedFromNs).toBeLessThanOrEqual(bounds.lostWorkBoundNs!);
  }
}

/**
 * Never two running copies: every takeover of a protection comes after the copy that
 * ran it before stopped running — it failed, paused (its lease ran out) or moved away.
 */
function expectOneHolderAtATime(result: BoardRunResult, vm: string): void {
  expect(result.doubleActive).toEqual([]); // the host's own count: no quantum with two copies retiring instructions
  const events = result.health!.events;
  const id = boundsOf(result, vm).id;
  for (const failover of failovers(result, vm)) {
    const previous = [...events.failovers].filter((f) => f.protection === id && f.activatedNs < failover.activatedNs).pop();
    const holder = previous?.processor ?? boundsOf(result, vm).order[0]!;
    const failed = result.faults.find((fault) => fault.processor === holder && (fault.kind === 'fail' || fault.kind === 'fail-after-warning' || fault.kind === 'hang') && fault.atNs <= failover.activatedNs);
    const paused = events.paused.find((pause) => pause.protection === id && pause.processor === holder && pause.atNs <= failover.activatedNs);
    const movedAway = events.handovers.find((handover) => handover.protection === id && handover.from === holder && handover.atNs <= failover.activatedNs);
    expect(failed ?? paused ?? movedAway, `${vm}: processor ${failover.processor} took over at ${failover.activatedNs} ns while ${holder} still ran it`).toBeDefined();
  }
}

describe('failover (docs/health.md)', () => {
  it('a failed sender resumes on its backup from its last epoch, within both bounds; the receiver sees every message once, in order', async () => {
    const result = await run(pairBoard(['checkpoint']), [{ kind: 'fail', atNs: 300n * MS, processor: 0 }]);
    expect(noProbeErrors(result)).toEqual([]);
    expect(failovers(result, 'tx').map((f) => f.processor)).toEqual([2]);
    expect(failovers(result, 'rx')).toEqual([]);
    expectWithinBounds(result, 'tx', 300n * MS);
    expectOneHolderAtATime(result, 'tx');
    const tx = result.vms.find((vm) => vm.name === 'tx')!;
    expect([tx.processor, tx.state]).toEqual([2, 'running']);
    // The receiver kept taking messages after the failover: the channel found its way to the copy.
    const atFailure = await run(pairBoard(['checkpoint']), [{ kind: 'fail', atNs: 300n * MS, processor: 0 }], 300n);
    expect(delivered(result)).toBeGreaterThan(delivered(atFailure) + 50n);
  });

  it('detects a failed processor at every member within the suspect time, and suspects nobody before', async () => {
    const result = await run(pairBoard(['checkpoint']), [{ kind: 'fail', atNs: 300n * MS, processor: 1 }], 400n);
    const { suspectNs, heartbeatNs } = result.health!.setup;
    const suspicions = result.health!.events.suspicions;
    expect(suspicions.map((s) => s.by).sort()).toEqual([0, 2, 3, 4]);
    for (const suspicion of suspicions) {
      expect(suspicion.processor).toBe(1);
      expect(suspicion.atNs).toBeGreaterThan(300n * MS);
      expect(suspicion.atNs - 300n * MS).toBeLessThanOrEqual(suspectNs + heartbeatNs);
    }
    expect(failovers(result, 'rx').map((f) => f.processor)).toEqual([3]);
    expect(noProbeErrors(result)).toEqual([]);
    expectWithinBounds(result, 'rx', 300n * MS);
  });

  it('both ends fail at once: each resumes on its own backup and they find each other', async () => {
    const result = await run(pairBoard(['checkpoint']), [
      { kind: 'fail', atNs: 300n * MS, processor: 0 }, { kind: 'fail', atNs: 300n * MS, processor: 1 },
    ]);
    expect(noProbeErrors(result)).toEqual([]);
    expect(failovers(result, 'tx').map((f) => f.processor)).toEqual([2]);
    expect(failovers(result, 'rx').map((f) => f.processor)).toEqual([3]);
    const atFailure = await run(pairBoard(['checkpoint']), [
      { kind: 'fail', atNs: 300n * MS, processor: 0 }, { kind: 'fail', atNs: 300n * MS, processor: 1 },
    ], 300n);
    expect(delivered(result)).toBeGreaterThan(delivered(atFailure) + 50n); // messages flowed between the two copies
  });

  it('a warning whose moves do not fit: each strategy is tried, the holder says why the VM stays, and the replica takes over at the failure', async () => {
    // tx2 on the npm start board affords less downtime than any move's bound: stop-copy is
    // turned down once the destination's facts are in its bound, pre-copy when it starts.
    const { board } = await readScenario(join(ROOT, 'scenarios', 'quad-failover.json'));
    const result = await runBoard({ board, durationNs: 400n * MS, faults: [{ kind: 'warning', atNs: 200n * MS, processor: 2, leadNs: 100n * MS }], seed: 0 });
    const id = boundsOf(result, 'tx2').id;
    const moves = result.health!.events.warningMoves.filter((move) => move.protection === id);
    expect(moves.map((move) => move.migration !== 0)).toEqual([true, false]); // one started, then the last word
    expect(moves[1]!.reason).toBe(1); // MigrationReason.bound
    expect(result.health!.events.handovers).toEqual([]);
    expect(failovers(result, 'tx2').map((f) => [f.processor, f.resumedFromNs !== undefined])).toEqual([[4, true]]);
    expectOneHolderAtATime(result, 'tx2');
  });

  it('two crashes a millisecond apart (scenarios/pair-double-crash.json): the half with the smallest id restores rx within its bound', async () => {
    const scenario = await readScenario(join(ROOT, 'scenarios', 'pair-double-crash.json'));
    const result = await runBoard({ board: scenario.board, durationNs: scenario.durationNs!, faults: scenario.faults, seed: 0 });
    expect(failovers(result, 'rx').map((f) => f.processor)).toEqual([3]);
    expectWithinBounds(result, 'rx', 60n * MS);
    expectOneHolderAtATime(result, 'rx');
  });

  it('members that chose the same backup apart meet on one term: a failure during a partition is taken over once it heals', async () => {
    // {0,1,2} keeps the quorum; 0 fails inside the partition, so 1 and 2 grant tx to its
    // backup 2 under a new term that is no quorum alone. 3 and 4, cut off, heal later and
    // choose 2 under a term of their own: the members must meet on one term (a campaign of
    // partitions and crashes lost tx here for good before they did).
    const result = await run(pairBoard(['checkpoint']), [
      { kind: 'partition', atNs: 300n * MS, groups: [[0, 1, 2], [3, 4]], forNs: 100n * MS },
      { kind: 'fail', atNs: 350n * MS, processor: 0 },
    ]);
    expect(failovers(result, 'tx').map((f) => f.processor)).toEqual([2]);
    const [takeover] = failovers(result, 'tx');
    expect(takeover!.firstRunNs).toBeDefined();
    expect(takeover!.activatedNs).toBeGreaterThan(400n * MS); // not before the heal: {1, 2} is no quorum
    expect(takeover!.activatedNs - 400n * MS).toBeLessThanOrEqual(boundsOf(result, 'tx').takeoverBoundNs);
    expectOneHolderAtATime(result, 'tx');
    expect(noProbeErrors(result)).toEqual([]);
  });

  it('a partition: the side without a quorum pauses, the other takes over, the old copy is fenced when the partition heals', async () => {
    const result = await run(pairBoard(['checkpoint']), [{ kind: 'partition', atNs: 300n * MS, groups: [[0], [1, 2, 3, 4]], forNs: 100n * MS }]);
    expect(noProbeErrors(result)).toEqual([]);
    const events = result.health!.events;
    expect(failovers(result, 'tx').map((f) => f.processor)).toEqual([2]);
    expect(events.paused.filter((p) => p.processor === 0).length).toBe(1);
    expect(events.fenced.map((f) => [f.processor, f.atNs >= 400n * MS])).toEqual([[0, true]]);
    expectOneHolderAtATime(result, 'tx');
    expect(failovers(result, 'rx')).toEqual([]);
  });

  it('a tie (two against two): the half with the smallest processor id keeps its VMs, the other half takes nothing over', async () => {
    const board = pairBoard(['checkpoint'], { health: { heartbeat: '1ms', members: [0, 1, 2, 3] } });
    const result = await run(board, [{ kind: 'partition', atNs: 300n * MS, groups: [[0, 2], [1, 3]], forNs: 100n * MS }]);
    expect(noProbeErrors(result)).toEqual([]);
    // rx on 1 is in the half without processor 0: it pauses and rx's backup on 3 cannot take over either.
    expect(failovers(result, 'tx')).toEqual([]);
    expect(failovers(result, 'rx')).toEqual([]);
    expect(result.health!.events.paused.map((p) => p.processor)).toEqual([1]);
    expect(result.health!.events.resumed.map((p) => p.processor)).toEqual([1]);
  });

  it('a hung processor is taken over; when it wakes it pauses and is fenced before it runs an instruction', async () => {
    const result = await run(pairBoard(['checkpoint']), [{ kind: 'hang', atNs: 300n * MS, processor: 0, forNs: 50n * MS }]);
    expect(noProbeErrors(result)).toEqual([]);
    expect(failovers(result, 'tx').map((f) => f.processor)).toEqual([2]);
    const events = result.health!.events;
    const pause = events.paused.find((p) => p.processor === 0)!;
    const fence = events.fenced.find((f) => f.processor === 0)!;
    expect(pause.atNs).toBe(350n * MS); // its first look after waking: the lease is gone
    expect(fence.atNs).toBeGreaterThanOrEqual(pause.atNs);
    expectOneHolderAtATime(result, 'tx');
  });

  it('the backup hangs right after it took over (scenarios/pair-double-hang.json): the copy that wakes first takes no word on messages it never sent', async () => {
    // tx's copy on 2 takes over from the hung 0, then 2 hangs too. 0 wakes with messages
    // it held for an epoch that was never applied, and rx acknowledges the numbers the copy
    // on 2 sent. Taking that word once put 0's resend window past its end: its core sent
    // frames without end in one quantum (a fault campaign's runaway trial).
    const scenario = await readScenario(join(ROOT, 'scenarios', 'pair-double-hang.json'));
    const result = await runBoard({ board: scenario.board, durationNs: scenario.durationNs!, faults: scenario.faults, seed: 0 });
    expect(result.end).toBe('duration');
    expect(failovers(result, 'tx').map((f) => f.processor)).toEqual([2]);
    expect(result.health!.events.fenced.map((f) => f.processor)).toEqual([0]);
    expectOneHolderAtATime(result, 'tx');
    expect(noProbeErrors(result)).toEqual([]);
    const q = result.channels.find((channel) => channel.name === 'q')!;
    expect(q.delivered).toBe(q.sent);
  });

  it('a granter cut off when the holder named its backup (scenarios/pair-cut-off-granter.json): the replica with everything takes over', async () => {
    // rx moves to 3; 0 is cut off while 3 names 1 its backup and 1 applies an epoch; 3 fails.
    // After the heal 0 had never heard the naming: it granted rx to nobody and the replica
    // waited for every granter to name it, so rx was lost (a campaign's vm-lost trial).
    const scenario = await readScenario(join(ROOT, 'scenarios', 'pair-cut-off-granter.json'));
    const result = await runBoard({ board: scenario.board, durationNs: scenario.durationNs!, faults: scenario.faults, seed: 0 });
    expect(result.end).toBe('duration');
    const chosen = result.health!.events.backupsChosen.filter((b) => b.protection === 1 && b.processor === 3);
    expect(chosen.at(-1)?.backup, '3 names 1 while 0 is cut off').toBe(1);
    const takeovers = failovers(result, 'rx');
    expect(takeovers.map((f) => f.processor)).toEqual([3, 1]);
    const last = takeovers[1]!;
    expect(last.activatedNs, 'after the heal at 61.09 ms').toBeGreaterThan(61_090_417n);
    expect(last.resumedFromNs, 'from the epoch 1 applied, taken after 3 chose it').toBeGreaterThan(chosen.at(-1)!.atNs);
    expectOneHolderAtATime(result, 'rx');
    expect(noProbeErrors(result)).toEqual([]);
  });

  it('a repaired backup is a backup again (scenarios/pair-repair.json): rx survives its holder\'s failure after its backup failed', async () => {
    const scenario = await readScenario(join(ROOT, 'scenarios', 'pair-repair.json'));
    const result = await runBoard({ board: scenario.board, durationNs: scenario.durationNs!, faults: scenario.faults, seed: 0 });
    expect(result.end).toBe('duration');
    expect(result.faults.map((fault) => [fault.kind, fault.processor, fault.skipped])).toEqual([['fail', 3, undefined], ['repair', 3, undefined], ['fail', 1, undefined]]);
    const chosen = result.health!.events.backupsChosen.filter((b) => b.protection === 1 && b.processor === 1);
    expect(chosen.map((b) => b.backup)).toEqual([3, 3]);
    expect(chosen[1]!.atNs, 'chosen again once 3 is back').toBeGreaterThanOrEqual(80n * MS);
    const takeover = failovers(result, 'rx');
    expect(takeover.map((f) => f.processor)).toEqual([3]);
    expect(takeover[0]!.resumedFromNs, 'from an epoch taken after the repair').toBeGreaterThan(80n * MS);
    expectWithinBounds(result, 'rx', 150n * MS);
    expect(result.vms.find((vm) => vm.name === 'rx')).toMatchObject({ processor: 3, state: 'running' });
    expectOneHolderAtATime(result, 'rx');
    expect(noProbeErrors(result)).toEqual([]);
    const q = result.channels.find((channel) => channel.name === 'q')!;
    expect(q.delivered, 'rx on 3 goes on receiving').toBeGreaterThan(0n);
  });

  it('a repaired holder comes back empty: its VM stays with the copy that took over, which makes it its backup and can return', async () => {
    // tx's holder 0 fails and is repaired; 2 took tx over and replicates to 0; when 2 fails, tx goes back to 0.
    const result = await run(pairBoard(['checkpoint']), [
      { kind: 'fail', atNs: 100n * MS, processor: 0 },
      { kind: 'repair', atNs: 200n * MS, processor: 0 },
      { kind: 'fail', atNs: 400n * MS, processor: 2 },
    ]);
    expect(result.end).toBe('duration');
    expect(failovers(result, 'tx').map((f) => f.processor)).toEqual([2, 0]);
    const back = failovers(result, 'tx')[1]!;
    const bounds = boundsOf(result, 'tx');
    expect(back.resumedFromNs, 'from an epoch 2 sent to the repaired 0').toBeGreaterThan(200n * MS);
    expect(back.firstRunNs! - 400n * MS).toBeLessThanOrEqual(bounds.interruptionBoundNs);
    expect(400n * MS - back.resumedFromNs!).toBeLessThanOrEqual(bounds.lostWorkBoundNs!);
    expectOneHolderAtATime(result, 'tx');
    expect(noProbeErrors(result)).toEqual([]);
  });

  it('a repair of a processor that did not fail changes nothing, and says so', async () => {
    const result = await run(pairBoard(['checkpoint']), [{ kind: 'repair', atNs: 50n * MS, processor: 1 }], 200n);
    expect(result.faults).toEqual([{ atNs: 50n * MS, kind: 'repair', processor: 1, skipped: 'it had not failed' }]);
    expect(failovers(result, 'rx')).toEqual([]);
    expect(noProbeErrors(result)).toEqual([]);
  });

  it('copies made after a takeover keep the run going: both holders fail, the old holders (their backups now) take over', async () => {
    // Each VM moves to its copy when its first processor hangs; the woken processor becomes
    // its backup with a copy its core makes then (copyHeld). When both holders fail at once,
    // every VM where it lives is on a failed processor: the host once ended the run there
    // ('stopped'), before the new copies could take over.
    const result = await run(pairBoard(['checkpoint']), [
      { kind: 'hang', atNs: 300n * MS, processor: 0, forNs: 20n * MS },
      { kind: 'hang', atNs: 330n * MS, processor: 1, forNs: 20n * MS },
      { kind: 'fail', atNs: 450n * MS, processor: 2 },
      { kind: 'fail', atNs: 450n * MS, processor: 3 },
    ]);
    expect(result.end).toBe('duration');
    expect(failovers(result, 'tx').map((f) => f.processor)).toEqual([2, 0]);
    expect(failovers(result, 'rx').map((f) => f.processor)).toEqual([3, 1]);
    for (const vm of ['tx', 'rx']) {
      const second = failovers(result, vm)[1]!;
      const bounds = boundsOf(result, vm);
      expect(second.firstRunNs! - 450n * MS, `${vm}'s second interruption`).toBeLessThanOrEqual(bounds.interruptionBoundNs);
      expect(450n * MS - second.resumedFromNs!, `${vm}'s lost work`).toBeLessThanOrEqual(bounds.lostWorkBoundNs!);
      expectOneHolderAtATime(result, vm);
    }
    expect(noProbeErrors(result)).toEqual([]);
  });

  it('a backup that still holds the VM when asked is asked again a lease later, not passed over: tx survives its holder failing soon after', async () => {
    // 0 hangs (tx to 2), 2 hangs (tx back to 0), 2 wakes: 0 asks it to be the backup before
    // 2 has heard of the newer term, and 2 refuses (it still holds tx, paused). Passing it
    // over for 16 lease times left tx unprotected with a live candidate; a campaign lost it
    // when 0 failed in that time.
    const result = await run(pairBoard(['checkpoint']), [
      { kind: 'hang', atNs: 300n * MS, processor: 0, forNs: 20n * MS },
      { kind: 'hang', atNs: 340n * MS + 100_000n, processor: 2, forNs: 20n * MS }, // wakes off a heartbeat: it hears 0's newer term only after 0 asked
      { kind: 'fail', atNs: 390n * MS, processor: 0 },
    ]);
    expect(result.health!.events.protectionLost.map((lost) => lost.reason)).toEqual([ProtectionLostReason.backupRefused]); // 2 refused once: it still held tx
    expect(failovers(result, 'tx').map((f) => f.processor)).toEqual([2, 0, 2]);
    const last = failovers(result, 'tx')[2]!;
    expect(last.firstRunNs! - 390n * MS).toBeLessThanOrEqual(boundsOf(result, 'tx').interruptionBoundNs);
    expectOneHolderAtATime(result, 'tx');
    expect(noProbeErrors(result)).toEqual([]);
  });

  it('a slow link is not taken for a dead processor: rx\'s replication link 5 times slower for 200 ms, nobody suspected', async () => {
    // The suspect time has 2 heartbeat periods of slack over the slowest trip at the link's own
    // rate (docs/health.md); a link 5 times slower, full of epochs, still carries a heartbeat in it.
    const result = await run(pairBoard(['checkpoint']), [{ kind: 'slow', atNs: 50n * MS, between: [1, 3], by: 5, forNs: 200n * MS }], 300n);
    expect(result.health!.events.suspicions).toEqual([]);
    expect(failovers(result, 'rx')).toEqual([]);
    const during = result.health!.events.epochs.filter((e) => e.protection === 1 && e.atNs > 50n * MS && e.atNs < 250n * MS);
    expect(during.length, 'rx\'s epochs go on over the slow link').toBeGreaterThan(3);
    expect(noProbeErrors(result)).toEqual([]);
  });

  it('replication picks up again right after its link was slowed 20 times for 30 ms', async () => {
    // The window of epoch frames sent in the slowdown once kept its link busy long after
    // it (each frame charged the slow rate) while the holder resent the window every base
    // timeout: rx's replication stopped for good (a campaign's trial lost 100 ms of work).
    const result = await run(pairBoard(['checkpoint']), [{ kind: 'slow', atNs: 305n * MS, between: [1, 3], by: 20, forNs: 30n * MS }]);
    const rx = boundsOf(result, 'rx').id;
    const epochsAfter = result.health!.events.epochs.filter((epoch) => epoch.protection === rx && epoch.atNs > 335n * MS);
    expect(epochsAfter.length).toBeGreaterThan(0);
    expect(epochsAfter[0]!.atNs - 335n * MS).toBeLessThanOrEqual(10n * MS); // within a checkpoint interval of the slowdown's end
    const gaps = epochsAfter.slice(1).map((epoch, i) => epoch.atNs - epochsAfter[i]!.atNs);
    expect(gaps.every((gap) => gap <= 15n * MS)).toBe(true); // and every interval after
  });

  it('links that lose frames: suspicions may come and go, but no lease moves and nothing pauses', async () => {
    const result = await runBoard({ board: pairBoard(['checkpoint']), durationNs: 400n * MS, linkFaults: { drop: 0.02 }, seed: 7 });
    expect(probesHealthy(result)).toEqual([]);
    expect(result.health!.events.failovers).toEqual([]);
    expect(result.health!.events.paused).toEqual([]);
  });

  it('migrate-on-warning: the VM moves before its processor fails, the lease follows it, and nothing is lost', async () => {
    const result = await run(pairBoard(['checkpoint', 'migrate-on-warning']), [{ kind: 'warning', atNs: 300n * MS, processor: 0, leadNs: 100n * MS }]);
    expect(noProbeErrors(result)).toEqual([]);
    const events = result.health!.events;
    expect(events.warningMoves.map((m) => [m.protection, m.migration !== 0])).toEqual([[0, true]]);
    expect(events.handovers.map((h) => [h.from, h.to])).toEqual([[0, 2]]);
    const [moved] = failovers(result, 'tx');
    expect(moved!.processor).toBe(2);
    expect(moved!.resumedFromNs).toBeUndefined(); // the moved VM itself, no epoch: no work lost
    expect(moved!.activatedNs).toBeLessThan(400n * MS); // before the failure
    const tx = result.vms.find((vm) => vm.name === 'tx')!;
    expect([tx.processor, tx.state]).toEqual([2, 'running']);
  });

  it('restart: a cold copy of the image boots on the spare; the receiver takes its fresh numbering', async () => {
    const result = await run(pairBoard(['restart']), [{ kind: 'fail', atNs: 300n * MS, processor: 0 }]);
    const [restarted] = failovers(result, 'tx');
    expect(restarted!.processor).toBe(2);
    expect(restarted!.resumedFromNs).toBeUndefined();
    expect(restarted!.firstRunNs! - 300n * MS).toBeLessThanOrEqual(boundsOf(result, 'tx').interruptionBoundNs);
    expect(boundsOf(result, 'tx').lostWorkBoundNs).toBeUndefined(); // a restart loses everything: not bounded
    const tx = result.vms.find((vm) => vm.name === 'tx')!;
    expect([tx.processor, tx.state]).toEqual([2, 'running']);
  });

  it('refuses a suspect time the links cannot keep, saying the shortest they allow', async () => {
    await expect(run(pairBoard(['checkpoint'], { health: { heartbeat: '1ms', suspect: '1ms' } }), [])).rejects.toThrow(/\/health\/suspect: must be at least \d+ ns/);
  });

  it('refuses members without a link between them', async () => {
    const board = pairBoard(['checkpoint'], { links: [[0, 1], [0, 2], [0, 3], [0, 4], [1, 2], [1, 3], [1, 4], [2, 4], [3, 4]] });
    await expect(run(board, [])).rejects.toThrow(/processors 2 and 3 are members but have no link/);
  });

  it('scenarios/quad-failover.json (npm start): ctl0 moves within its bound, tx2 is taken over within both bounds, cpu2 restarts from its image, rx3 misses no message', async () => {
    const scenario = await readScenario(join(ROOT, 'scenarios', 'quad-failover.json'));
    const result = await runBoard({ board: scenario.board, durationNs: 3_500n * MS, events: scenario.events, faults: scenario.faults });
    const [migration] = result.migrations;
    expect(migration!.state).toBe('done');
    expect(migration!.downtimeNs!).toBeLessThanOrEqual(migration!.boundNs!);
    expect(failovers(result, 'tx2').map((f) => f.processor)).toEqual([4]);
    expectWithinBounds(result, 'tx2', 3_000n * MS);
    // cpu2 (policy restart) boots afresh on processor 4 within its interruption bound; its state before the failure is gone.
    expect(failovers(result, 'cpu2').map((f) => [f.processor, f.resumedFromNs])).toEqual([[4, undefined]]);
    expectWithinBounds(result, 'cpu2', 3_000n * MS);
    expect(result.vms.find((vm) => vm.name === 'cpu2')!.processor).toBe(4);
    const speed2 = result.channels.find((channel) => channel.name === 'speed2')!;
    expect(speed2.delivered).toBe(speed2.sent); // every message the restored tx2 counts as sent reached rx3
    expect(speed2.lateDeliveries).toBe(0n);
    const cli = runFerry(['run', '--scenario', join(ROOT, 'scenarios', 'quad-failover.json'), '--duration', '3.2s', '--summary']);
    expect(cli.status).toBe(0);
    expect(cli.stdout).toMatch(/^failover tx2: processor 2 -> 4 at [\d.]+ s \(term 1, after fail\), interruption [\d.]+ ms \(bound [\d.]+ ms\), lost work [\d.]+ ms \(bound [\d.]+ ms\)$/m);
  });

  it('the host\'s double-active check sees two copies that retire instructions in one quantum', () => {
    const instret = new Map<string, bigint>([['0/1', 0n], ['1/2', 0n]]);
    const core = (processor: number) => ({ vmInstret: (handle: number) => instret.get(`${processor}/${handle}`) ?? 0n }) as unknown as CoreRuntime;
    const placed = [0, 1].map((id) => ({ id, clockHz: 1, core: core(id), earlier: [] })) as PlacedProcessor[];
    const directory = new VmDirectory<PlacedVm>();
    const data = {} as PlacedVm;
    directory.place('v', 0, 1, data);
    directory.placeCopy('v', 1, 2, data);
    const watch = new DoubleActiveWatch([{ id: 0, vm: { name: 'v' } } as ProtectionPlan], placed, directory);
    watch.atBoundary(0n);
    instret.set('0/1', 100n);
    watch.atBoundary(1n); // one copy ran: fine
    instret.set('0/1', 200n);
    instret.set('1/2', 50n);
    watch.atBoundary(2n); // both ran
    expect(watch.found).toEqual([{ vm: 'v', atNs: 2n, processors: [0, 1] }]);
  });
});
