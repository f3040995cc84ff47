import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { API_NAMESPACE, requestAPI } from '../handler';

/** An item of the recycle bin (GET /cs3lab/api/recycle). */
export interface IDeleted {
  key: string;
  name: string;
  /** Where it was, as a JupyterLab path. */
  path: string;
  type: 'file' | 'directory';
  /** Bytes; null where the storage does not tell (folders). */
  size: number | null;
  /** ISO 8601 date of the deletion. */
  deleted: string;
}

/** A restore refused because the place is taken (409). */
export interface IConflict {
  message: string;
  conflict: string;
  suggestion: string;
}

export type RestoreResult =
  | { restored: IDeleted; conflict?: undefined }
  | { restored?: undefined; conflict: IConflict };

export const recycleAPI = {
  list: async (): Promise<IDeleted[]> =>
    (await requestAPI<{ items: IDeleted[] }>('recycle')).items,

  /** Restore where it was, or to `path`; a taken place is a conflict, not an error. */
  restore: async (key: string, path?: string): Promise<RestoreResult> => {
    const settings = ServerConnection.makeSettings();
    const url = URLExt.join(settings.baseUrl, API_NAMESPACE, 'recycle/restore');
    const response = await ServerConnection.makeRequest(
      url,
      { method: 'POST', body: JSON.stringify(path ? { key, path } : { key }) },
      settings
    );
    const data = await response.json().catch(() => ({}));
    if (response.status === 409 && data.suggestion) {
      return { conflict: data as IConflict };
    }
    if (!response.ok) {
      throw new ServerConnection.ResponseError(
        response,
        data.message ?? `Restore failed: ${response.status}`
      );
    }
    return { restored: data as IDeleted };
  },

  purge: async (key: string): Promise<void> => {
    await requestAPI(`recycle/items?key=${encodeURIComponent(key)}`, {
      method: 'DELETE'
    });
  },

  purgeAll: async (): Promise<number> =>
    (
      await requestAPI<{ purged: number }>('recycle?all=1', {
        method: 'DELETE'
      })
    ).purged
};

/** "12 KB", "3.4 MB". */
export function formatSize(size: number | null): string {
  if (size === null) {
    return '—';
  }
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = size;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
