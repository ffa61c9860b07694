/**
 * Every command's exit statuses, in one table (docs/cli.md prints the same; a test
 * checks the two agree). 2 and 3 mean the same for every command: bad input, one
 * line on stderr; a bug in Ferry.
 */
import { INTERRUPTED_EXIT_STATUS } from '../interrupt.js';
import { MAX_CYCLES_EXIT_STATUS } from '../vm-exit.js';

/** Bad image, option, board, scenario, stream or results file: one line on stderr naming what and where. */
export const USAGE_EXIT_STATUS = 2;
/** A bug in Ferry or its core (a stack trace follows the line). */
export const INTERNAL_EXIT_STATUS = 3;

type Rows = readonly (readonly [status: number, meaning: string])[];

const COMMON: Rows = [
  [USAGE_EXIT_STATUS, 'bad input: an image, option, board, scenario, stream or results file Ferry refuses (one line on stderr says what and where)'],
  [INTERNAL_EXIT_STATUS, 'internal error: a bug in Ferry (please report it with the line and the stack trace)'],
];

const RUN: Rows = [
  [0, 'the guest passed (SRST shutdown, tohost = 1, test finisher pass), or was still running when --duration ended; on a board: every VM did'],
  [1, 'a guest failed: SRST system failure, tohost = odd v (test v>>1 failed), finisher fail, a reboot request, a trap with no usable handler, or a VM waiting with nothing left to wake it'],
  ...COMMON,
  [MAX_CYCLES_EXIT_STATUS, '--max-cycles ran out before the guest stopped'],
  [INTERRUPTED_EXIT_STATUS, 'interrupted by Ctrl-C: the run ended at its next quantum, its summary printed and its trace closed with its end record'],
];

const INTERRUPTED: readonly [number, string] = [INTERRUPTED_EXIT_STATUS, 'interrupted by Ctrl-C (the run ended cleanly at its next quantum)'];

/** Each command's statuses, in order; `ferry <command> --help` ends with them. */
export const EXIT_STATUSES: Record<string, Rows> = {
  run: RUN,
  restore: RUN,
  checkpoint: [
    [0, 'the stream was written'],
    ...COMMON.map(([status, meaning]) => [status, status === USAGE_EXIT_STATUS ? `${meaning}, or the guest stopped before the checkpoint's time (nothing to checkpoint)` : meaning] as const),
    INTERRUPTED,
  ],
  inspect: [
    [0, 'the stream is valid: the core would restore it'],
    ...COMMON.map(([status, meaning]) => [status, status === USAGE_EXIT_STATUS ? 'the stream is refused (the reason, record and offset on stderr), unreadable, or an option is bad' : meaning] as const),
  ],
  migrate: [
    [0, 'completed: the VM runs on the destination'],
    [1, 'a VM of the board failed (as for run), whatever became of the migration'],
    ...COMMON,
    [4, 'refused before it started: admission (the bound exceeds the affordable downtime, or none is known), the destination (no RAM, no free windows, busy), a VM that cannot move, no link; the VM runs on at the source'],
    [5, 'started but did not complete: failed, cancelled, or still going when the run ended — or the run ended before `--at` (every VM had stopped); the VM runs on at the source'],
    [6, 'the guarantee broke: the measured downtime exceeded the bound, or the VM ran on two processors (a bug in the core)'],
    INTERRUPTED,
  ],
  analyze: [[0, 'the figures were printed'], ...COMMON],
  report: [[0, 'the report was written (also when model and campaign disagree: the report says so)'], ...COMMON],
  campaign: [
    [0, 'every trial of the campaign (or shard) is in the results file and the verdict is valid; merge: the merged file was written'],
    [1, 'the verdict is invalid: a trial ended vm-lost, double-active, crash or timeout, or a trial run twice gave another record (the summary names the first and how to replay it)'],
    ...COMMON.map(([status, meaning]) => [status, status === USAGE_EXIT_STATUS ? `${meaning}; with --queue also a malformed or unreachable Redis, a Redis lost for 10 s, or batches the workers refused or that failed for good (listed with their seeds: the same command queues them again)` : meaning] as const),
    [INTERRUPTED_EXIT_STATUS, 'interrupted by Ctrl-C: the trials under way finished, the results file holds whole lines only, and the same command resumes'],
  ],
  replay: [
    [0, 'the trial ran again and gave the record in the file, byte for byte'],
    [1, 'the trial gave another record than the one in the file (where they differ is printed)'],
    ...COMMON,
  ],
  worker: [
    [0, 'stopped by SIGTERM or Ctrl-C after finishing the batches it was running'],
    ...COMMON.map(([status, meaning]) => [status, status === USAGE_EXIT_STATUS ? 'bad input: an option, a malformed Redis address, or no Redis answering there when it starts (one line on stderr)' : meaning] as const),
    [INTERRUPTED_EXIT_STATUS, 'a second SIGTERM or Ctrl-C ended it at once: its running batches go back to the queue'],
  ],
};

/** Help text stays within this many columns, as commander wraps its own. */
const HELP_COLUMNS = 78;

/** The "Exit status:" block a command's --help ends with. */
export function exitStatusHelp(command: string): string {
  const rows = EXIT_STATUSES[command];
  if (rows === undefined) throw new Error(`no exit statuses for command ${command}`);
  return `\nExit status:\n${rows.map(([status, meaning]) => wrap(`  ${String(status).padEnd(4)} `, meaning)).join('\n')}\n`;
}

/** `head` then the words of `text`, continued lines indented as far as the head. */
function wrap(head: string, text: string): string {
  const lines: string[] = [];
  let line = head;
  for (const word of text.split(' ')) {
    if (line.length + word.length + 1 > HELP_COLUMNS && line.trim().length > head.trim().length) {
      lines.push(line.trimEnd());
      line = ' '.repeat(head.length);
    }
    line += line.endsWith(' ') ? word : ` ${word}`;
  }
  lines.push(line);
  return lines.join('\n');
}
