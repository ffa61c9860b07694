/**
 * The `ferry` command line: the program, its commands (host/commands/, each parses
 * its options and calls the library) and how an error becomes an exit status. The
 * exit statuses and messages are a contract (tests and scripts rely on them):
 * host/commands/exit-status.ts and docs/cli.md.
 */
import { Command, CommanderError } from 'commander';
import { addAnalyzeCommand } from './commands/analyze.js';
import { addCampaignCommands } from './commands/campaign.js';
import { addCheckpointCommands } from './commands/checkpoint.js';
import { INTERNAL_EXIT_STATUS, USAGE_EXIT_STATUS, exitStatusHelp } from './commands/exit-status.js';
import { addMigrateCommand } from './commands/migrate.js';
import { addReportCommand } from './commands/report.js';
import { addRunCommand } from './commands/run.js';
import { addWorkerCommand } from './commands/worker.js';
import type { Io } from './commands/run.js';
import { FerryError } from './errors.js';
import { INTERRUPTED_EXIT_STATUS, interruptRequested, withInterruptListener } from './interrupt.js';
import { packageVersion } from './package-root.js';

export { INTERNAL_EXIT_STATUS, USAGE_EXIT_STATUS };

/** Where the CLI writes; the process's streams unless a test captures them. */
export type CliIo = Io;

const PROGRAM_HELP = `
Every command's exit statuses are at the end of its --help, and in
docs/cli.md. 2 always means bad input (one line on stderr naming what was
wrong and where), 3 a bug in Ferry. Times take a unit (100ms, 2s, 5000us),
sizes too (16MiB); a bare number means cycles or bytes only where the
option's name says so. With --json, stdout carries one JSON document and a
refusal is one JSON line on stderr.
`;

/** Runs the CLI on `argv` (without node and script) and returns the exit status. */
export async function main(argv: string[], io: CliIo = process): Promise<number> {
  let exitStatus = 0;
  const json = wantsJson(argv);
  const program = buildProgram(io, json, (status) => (exitStatus = status));
  try {
    await withInterruptListener(() => program.parseAsync(argv, { from: 'user' }));
    return exitStatus;
  } catch (error) {
    return reportError(error, io, json);
  }
}

/** --json (or --summary json) anywhere: errors go out as JSON too. */
function wantsJson(argv: readonly string[]): boolean {
  return argv.some((arg, index) => arg === '--json' || arg === '--summary=json' || (arg === '--summary' && argv[index + 1] === 'json'));
}

function buildProgram(io: CliIo, json: boolean, setExitStatus: (status: number) => void): Command {
  const program = new Command('ferry')
    .description('Ferry: a paravirtual real-time hypervisor for RV32IMAC guests on emulated boards')
    .version(packageVersion())
    // Settings made before .command() are inherited by the subcommands.
    .exitOverride()
    .allowExcessArguments(false)
    // A command's options are its own after its name: `campaign merge -o x` is merge's -o, `campaign status --queue` status's.
    .enablePositionalOptions()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // Commander's messages start with "error: ".
      outputError: (text, write) => write(json ? errorJson(USAGE_EXIT_STATUS, text.replace(/^error: /, '')) : `ferry: ${oneLine(text)}\n`),
    })
    .showSuggestionAfterError()
    .addHelpText('after', `${PROGRAM_HELP}\nferry run's, for one:${exitStatusHelp('run').replace(/^\nExit status:/, '')}`);
  addRunCommand(program, io, setExitStatus);
  addCheckpointCommands(program, io, setExitStatus);
  addMigrateCommand(program, io, setExitStatus);
  addAnalyzeCommand(program, io, setExitStatus);
  addReportCommand(program, io, setExitStatus);
  addCampaignCommands(program, io, setExitStatus);
  addWorkerCommand(program, io, setExitStatus);
  return program;
}

function reportError(error: unknown, io: CliIo, json: boolean): number {
  // Commander has already printed its message (or the help).
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : USAGE_EXIT_STATUS;
  // A run cut short by Ctrl-C cannot finish what it was asked (a checkpoint's time never came).
  if (interruptRequested()) {
    io.stderr.write(json ? errorJson(INTERRUPTED_EXIT_STATUS, 'interrupted (Ctrl-C)', 'Interrupted') : 'ferry: interrupted (Ctrl-C)\n');
    return INTERRUPTED_EXIT_STATUS;
  }
  if (error instanceof FerryError) {
    io.stderr.write(json ? errorJson(USAGE_EXIT_STATUS, error.message, error.name) : `ferry: error: ${oneLine(error.message)}\n`);
    return USAGE_EXIT_STATUS;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  io.stderr.write(json
    ? errorJson(INTERNAL_EXIT_STATUS, `internal error: ${error instanceof Error ? error.message : String(error)}`, 'InternalError', detail)
    : `ferry: internal error: ${detail}\n`);
  return INTERNAL_EXIT_STATUS;
}

/** `{"error":{"status":2,"kind":"BoardFileError","message":"..."}}` on one line. */
function errorJson(status: number, message: string, kind = 'UsageError', stack?: string): string {
  return `${JSON.stringify({ error: { status, kind, message: oneLine(message), ...(stack === undefined ? {} : { stack }) } })}\n`;
}

function oneLine(text: string): string {
  return text.trim().replace(/\s*\n\s*/g, ' ');
}
