import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from './handler';

/**
 * The CS3 session of this Jupyter server: `GET /cs3lab/api/session`.
 */
export interface ISessionInfo {
  user: {
    username: string;
    display_name: string;
    mail?: string;
    idp?: string;
  };
  site: {
    name: string;
    gateway: string;
  };
  home: string;
}

/**
 * Fetch which CS3 user and site this server is connected to.
 */
export function fetchSession(
  settings?: ServerConnection.ISettings
): Promise<ISessionInfo> {
  return requestAPI<ISessionInfo>('session', {}, settings);
}

/**
 * Quota and usage of the storage holding a path: `GET /cs3lab/api/quota`.
 * `total` is null when the site sets no quota; `reported` is false (and there
 * are no figures) where the site's storage reports no quota at all (it would
 * answer with its disk: `CS3Connection.storage_reports_quota`).
 */
export interface IQuota {
  path: string;
  reported: boolean;
  total: number | null;
  used: number | null;
  remaining: number | null;
}

export function fetchQuota(
  path = '',
  settings?: ServerConnection.ISettings
): Promise<IQuota> {
  return requestAPI<IQuota>(
    `quota?path=${encodeURIComponent(path)}`,
    {},
    settings
  );
}

/** A byte count for people: 1.2 MB, 340 KB. */
export function humanSize(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let size = bytes;
  let unit = 0;
  while (size >= 1000 && unit < units.length - 1) {
    size /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${size} bytes` : `${size.toFixed(1)} ${units[unit]}`;
}
