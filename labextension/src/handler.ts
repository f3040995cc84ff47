import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { trans } from './i18n';

/**
 * The URL namespace of cs3lab's server extension API.
 */
export const API_NAMESPACE = 'cs3lab/api';

/**
 * An error status of cs3lab's API, with the server's parsed JSON answer
 * (`{message, reason, ...}`; extra fields such as `sign_in_url` included).
 */
export class CS3APIError extends ServerConnection.ResponseError {
  constructor(
    response: Response,
    message: string,
    readonly body: Record<string, unknown>
  ) {
    super(response, message);
  }
}

/**
 * Call cs3lab's server extension.
 *
 * @param endPoint path below `<baseUrl>/cs3lab/api/`
 * @param init options of the request (method, body, ...)
 * @param settings the server settings; defaults to the page's
 * @returns the response body, parsed as JSON when it is JSON
 * @throws ServerConnection.NetworkError when the server cannot be reached,
 *   CS3APIError (a ServerConnection.ResponseError with the server's JSON
 *   `message` and the whole answer as `body`) on an error status
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint);

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }

  const text = await response.text();
  let data: any = text;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      // Not JSON (e.g. Jupyter's HTML 404 page): keep the text.
    }
  }

  if (!response.ok) {
    const message =
      data && typeof data === 'object' && typeof data.message === 'string'
        ? data.message
        : `Request to ${endPoint} failed: ${response.status} ${response.statusText}`;
    const body = data && typeof data === 'object' ? data : {};
    throw new CS3APIError(response, message, body);
  }
  return data as T;
}

/** What to tell the user about a failed request (the server's own message). */
export function errorMessage(error: unknown): string {
  if (error instanceof ServerConnection.ResponseError) {
    return error.message;
  }
  if (error instanceof ServerConnection.NetworkError) {
    return trans.__('The Jupyter server cannot be reached: %1', error.message);
  }
  return error instanceof Error ? error.message : String(error);
}

/** The HTTP status of a failed request (0 when there is none). */
export function errorStatus(error: unknown): number {
  return error instanceof ServerConnection.ResponseError
    ? error.response.status
    : 0;
}
