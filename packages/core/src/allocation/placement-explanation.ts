import { type ReasonCode, reasonLabel } from './reason-codes.js';

/** The placement levels an explanation reports on. */
export type PlacementLevel = 'pods' | 'clusters' | 'hosts' | 'pools';

/** One level's breakdown: how many candidates, how many passed, who won, why the rest dropped. */
export interface LevelExplanation {
  candidates: number;
  /** Candidates that passed every filter at this level (and were eligible to win). */
  suitable: number;
  winner: number | null;
  /** Dropped candidates per reason code (NOT_EVALUATED counts candidates left unscanned). */
  reasons: Record<string, number>;
}

/** Why a placement went where it did, or why it failed (spec/allocation.md §11.3). */
export interface PlacementExplanation {
  pods: LevelExplanation;
  clusters: LevelExplanation;
  hosts: LevelExplanation;
  pools: LevelExplanation;
  /** `true` when the VM went back to its last host (§4.2 step 7). */
  lastHost: boolean;
  /** Which strategy decided. */
  strategy: string;
}

/** An empty level. */
export function emptyLevel(): LevelExplanation {
  return { candidates: 0, suitable: 0, winner: null, reasons: {} };
}

/** Adds one dropped candidate to a level. */
export function countReason(level: LevelExplanation, reason: ReasonCode, n = 1): void {
  level.reasons[reason] = (level.reasons[reason] ?? 0) + n;
}

/**
 * Kubernetes-style summary of one level: `0/10000 hosts available: 9500 insufficient memory,
 * 480 host-tag mismatch, 20 in maintenance` (reasons by count, largest first).
 */
export function summariseLevel(name: string, level: LevelExplanation): string {
  const parts = Object.entries(level.reasons)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([code, n]) => `${n} ${reasonLabel(code)}`);
  return `${level.suitable}/${level.candidates} ${name} available${parts.length ? `: ${parts.join(', ')}` : ''}`;
}
