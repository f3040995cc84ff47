import type * as nbformat from '@jupyterlab/nbformat';
import type { IDiffEntry } from 'nbdime/lib/diff/diffentries';
import type { IMergeDecision } from 'nbdime/lib/merge/decisions';

import { requestAPI } from '../handler';

/** Where a copy came from (the origin recorded with it). */
export interface IOrigin {
  path: string;
  etag: string;
  site?: string;
  resource_id?: string;
  version_key?: string;
  copied_by?: string;
  copied_at?: string;
  [key: string]: unknown;
}

/** The original of a copy, as the server finds it now. */
export interface IOriginal {
  path: string;
  etag: string;
  moved_from?: string;
  changed?: boolean;
}

export interface ICopyInfo {
  path: string;
  origin: IOrigin;
  original: IOriginal;
}

/** An answer of POST /diff. */
export type IDiffAnswer =
  | {
      type: 'notebook';
      base: nbformat.INotebookContent;
      diff: IDiffEntry[];
      original?: IOriginal;
    }
  | { type: 'text'; base: string; remote: string; original?: IOriginal }
  | {
      type: 'binary';
      same: boolean;
      base_size: number;
      remote_size: number;
      original?: IOriginal;
    };

/** One automatic resolution listed in a merge summary. */
export interface IResolution {
  kind?: string;
  path?: string;
  message: string;
}

/** An answer of POST /merge and /merge/resolve. */
export interface IMergeAnswer {
  status: 'merged' | 'conflicts' | 'clean' | 'choose' | 'two-way';
  type: 'notebook' | 'text' | 'binary';
  original: IOriginal;
  summary?: IResolution[];
  conflicts?: number;
  written?: boolean;
  remerged?: boolean;
  message?: string;
  etag?: string;
  // notebook conflicts
  base?: nbformat.INotebookContent | string;
  merge_decisions?: IMergeDecision[];
  // text conflicts
  local?: string;
  remote?: string;
  merged?: string;
  conflict_regions?: unknown[];
  // two-way
  diff?: IDiffEntry[];
}

export interface IVersion {
  id: string;
  key: string;
  last_modified: string;
  size: number;
  etag: string;
}

export interface IVersions {
  path: string;
  current: { last_modified: string; size: number; etag: string };
  versions: IVersion[];
}

function post<T>(endPoint: string, body: unknown): Promise<T> {
  return requestAPI<T>(endPoint, {
    method: 'POST',
    body: JSON.stringify(body)
  });
}

/** Copy `path` with its origin recorded (to `destination`, else the server's default). */
export function makeCopyWithOrigin(
  path: string,
  destination?: string
): Promise<{ path: string; origin: IOrigin }> {
  return post('copies', destination ? { path, destination } : { path });
}

/** The origin of a copy; rejects with 400 when `path` is no copy. */
export function getCopyInfo(path: string): Promise<ICopyInfo> {
  return requestAPI<ICopyInfo>(`copies?path=${encodeURIComponent(path)}`);
}

/** What to compare: a copy with its original, two files, or a version with the current file. */
export type DiffRequest =
  | { copy: string }
  | { base: string; remote: string }
  | { path: string; version: string };

export function getDiff(request: DiffRequest): Promise<IDiffAnswer> {
  return post('diff', request);
}

/**
 * Merge `copy` into `original`, the original's path the user confirmed (the
 * server refuses with 409, writing nothing, when the copy's original is another).
 */
export function merge(copy: string, original: string): Promise<IMergeAnswer> {
  return post('merge', { copy, original });
}

export function resolve(
  copy: string,
  original: string,
  etag: string,
  content: unknown
): Promise<IMergeAnswer> {
  return post('merge/resolve', { copy, original, etag, content });
}

export function choose(
  copy: string,
  original: string,
  choice: 'original' | 'copy',
  etag?: string
): Promise<IMergeAnswer> {
  return post(
    'merge/resolve',
    etag ? { copy, original, choice, etag } : { copy, original, choice }
  );
}

export function listVersions(path: string): Promise<IVersions> {
  return requestAPI<IVersions>(`versions?path=${encodeURIComponent(path)}`);
}

export function restoreVersion(path: string, id: string): Promise<unknown> {
  return post('versions', { path, id });
}

/** A size in bytes for people. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) {
    return `${bytes} B`;
  }
  const units = ['KB', 'MB', 'GB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A date and time for people, in the browser's locale. */
export function formatDate(iso: string): string {
  const date = new Date(iso);
  return isNaN(date.getTime()) ? iso : date.toLocaleString();
}
