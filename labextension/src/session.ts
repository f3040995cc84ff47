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
