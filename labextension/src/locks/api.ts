import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { API_NAMESPACE, requestAPI } from '../handler';

/**
 * Who holds a lock (`holder` in the server's lock JSON).
 */
export interface ILockHolder {
  idp: string;
  opaque_id: string;
  username: string;
  display_name: string;
  mail: string;
  site: string;
  /** The CS3 application that set the lock ("cs3lab" for us). */
  app: string;
}

/**
 * A lock found on a file. Times are ISO 8601 strings.
 */
export interface ILockInfo {
  holder: ILockHolder;
  since: string | null;
  expires: string | null;
  backend: 'native' | 'marker' | 'advisory';
}

/**
 * The `lock` field of a contents model or of an entry in a directory listing.
 */
export interface IContentsLock extends ILockInfo {
  /** Held by the signed-in user (in this Jupyter server or another). */
  mine: boolean;
  /** Held by this Jupyter server for this user. */
  this_session: boolean;
}

/**
 * A "Request edit" by a reader of a locked file.
 */
export interface IEditRequest {
  requester: ILockHolder;
  at: string | null;
  state: 'pending' | 'granted' | 'declined';
  answered_by: ILockHolder | null;
  answered_at: string | null;
  reserved_until: string | null;
}

/**
 * A lock or request marker beside the file that the server ignores (expired,
 * abandoned or malformed: written by someone else than cs3lab, or broken).
 */
export interface IStaleMarker {
  marker: string;
  problem: string;
}

/**
 * What the server says about one file's lock (`GET /cs3lab/api/locks`).
 */
export interface ILockState {
  path: string;
  locked: boolean;
  lock: ILockInfo | null;
  mine: boolean;
  this_session: boolean;
  expiry_seconds: number;
  /** Pending requests; only shown to the holder. */
  requests: IEditRequest[];
  /** The reader's own request, if any. */
  my_request: IEditRequest | null;
  /** Ignored markers; a user who may write the file can clear them. */
  stale_markers: IStaleMarker[];
}

/**
 * An id per browser tab, kept for the page's life: the server counts the tabs
 * ("clients") that edit a file, and releases the lock when the last one is done.
 */
export const CLIENT_ID = `tab-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;

const LOCKS = 'locks';

function json(method: string, body: unknown): RequestInit {
  return { method, body: JSON.stringify(body) };
}

/** Inspect a file's lock. */
export function inspectLock(path: string): Promise<ILockState> {
  return requestAPI<ILockState>(`${LOCKS}?${query({ path })}`);
}

/** Take the lock (or join this server's hold on it); 423 when someone else holds it. */
export function acquireLock(
  path: string,
  takeover = false
): Promise<ILockState> {
  return requestAPI<ILockState>(
    LOCKS,
    json('POST', { path, client: CLIENT_ID, takeover })
  );
}

/** The heartbeat of this tab; 409 when the lock was lost. */
export function refreshLock(path: string): Promise<ILockState> {
  return requestAPI<ILockState>(
    LOCKS,
    json('PUT', { path, client: CLIENT_ID })
  );
}

/** This tab is done with the file. */
export async function releaseLock(path: string): Promise<void> {
  await requestAPI<void>(`${LOCKS}?${query({ path, client: CLIENT_ID })}`, {
    method: 'DELETE'
  });
}

/** Ask the holder for the lock. */
export function requestEdit(path: string): Promise<ILockState> {
  return requestAPI<ILockState>(`${LOCKS}/requests`, json('POST', { path }));
}

/** Withdraw one's own request. */
export async function withdrawRequest(path: string): Promise<void> {
  await requestAPI<void>(`${LOCKS}/requests?${query({ path })}`, {
    method: 'DELETE'
  });
}

/** The holder's answer to a request: hand over (grant) or decline. */
export function answerRequest(
  path: string,
  requester: string,
  grant: boolean
): Promise<ILockState> {
  return requestAPI<ILockState>(
    `${LOCKS}/handover`,
    json('POST', { path, requester, grant })
  );
}

/** Clear the file's stale or malformed markers; 423 when someone holds it. */
export function clearStaleMarkers(path: string): Promise<ILockState> {
  return requestAPI<ILockState>(`${LOCKS}/markers?${query({ path })}`, {
    method: 'DELETE'
  });
}

/**
 * Release locks while the page goes away (tab or browser closed, reload):
 * `fetch(..., {keepalive: true})` outlives the page, with the same
 * authentication as ServerConnection (token header, XSRF cookie).
 */
export function releaseOnUnload(
  paths: Iterable<string>,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): void {
  const headers: Record<string, string> = {};
  if (settings.token) {
    headers['Authorization'] = `token ${settings.token}`;
  }
  const xsrf = cookie('_xsrf');
  if (xsrf) {
    headers['X-XSRFToken'] = xsrf;
  }
  for (const path of paths) {
    const url = URLExt.join(
      settings.baseUrl,
      API_NAMESPACE,
      `${LOCKS}?${query({ path, client: CLIENT_ID })}`
    );
    void fetch(url, {
      method: 'DELETE',
      keepalive: true,
      credentials: 'same-origin',
      headers
    }).catch(() => {
      // The page is going away: nobody is left to tell.
    });
  }
}

/** "Alice Anders (site-a)". */
export function holderLabel(holder: ILockHolder | null | undefined): string {
  if (!holder) {
    return 'someone';
  }
  const name = holder.display_name || holder.username || 'someone';
  return holder.site ? `${name} (${holder.site})` : name;
}

/** A lock time as the user reads it: "14:02" today, else "3 Dec 14:02". */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) {
    return 'an unknown time';
  }
  const date = new Date(iso);
  if (isNaN(date.getTime())) {
    return iso;
  }
  const time = date.toLocaleTimeString([], {
    hour: '2-digit',
    minute: '2-digit'
  });
  if (date.toDateString() === new Date().toDateString()) {
    return time;
  }
  const day = date.toLocaleDateString([], { day: 'numeric', month: 'short' });
  return `${day} ${time}`;
}

function query(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

function cookie(name: string): string | undefined {
  const match = document.cookie.match('\\b' + name + '=([^;]*)\\b');
  return match ? decodeURIComponent(match[1]) : undefined;
}
