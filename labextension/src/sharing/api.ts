import { requestAPI } from '../handler';

/** A role as cs3lab names it ('uploader' only on folders; 'custom' when none fits). */
export type Role = 'viewer' | 'editor' | 'uploader' | string;

export const ROLE_LABELS: Record<string, string> = {
  viewer: 'Can view',
  editor: 'Can edit',
  uploader: 'Can upload'
};

export interface IPerson {
  username: string;
  display_name: string;
  mail: string;
  id: { idp: string; opaque_id: string } | null;
}

export interface IGroup {
  name: string;
  display_name: string;
  mail: string;
  id: { idp: string; opaque_id: string } | null;
}

export interface IResource {
  path: string | null;
  cs3_path?: string | null;
  name: string | null;
  type: 'file' | 'directory' | null;
}

export type IGrantee =
  ({ type: 'user' } & IPerson) | ({ type: 'group' } & IGroup);

export interface IShare {
  id: string;
  provider: string;
  grantee: IGrantee;
  role: Role;
  permissions: string[];
  resource: IResource;
  created: string | null;
  expiration: string | null;
}

export interface IReceivedShare extends Omit<IShare, 'grantee'> {
  owner: IPerson;
  state: 'pending' | 'accepted' | 'declined';
  mount_point: string | null;
}

export interface ILink {
  id: string;
  token: string;
  url: string;
  role: Role;
  password_protected: boolean;
  expiration: string | null;
  name: string | null;
  resource: IResource;
  created: string | null;
}

export interface IAccess {
  resource: IResource;
  shares: IShare[];
  links: ILink[];
  /** False where the site has no shares between its users. */
  shares_available: boolean;
  /** False where the site has no public links. */
  links_available: boolean;
}

/** The `share` field cs3lab puts on every entry of a directory listing. */
export interface IListingShare {
  shared: boolean;
  users: number;
  groups: number;
  links: number;
  roles: string[];
}

export interface IContact {
  id: string;
  display_name: string;
  mail: string;
  site: string;
}

export interface IInvitation {
  token: string;
  site: string;
  invitation: string;
  expires: string | number | null;
  description: string;
}

export interface IOCMShare {
  id: string;
  name: string;
  with: string;
  /** The grantee's name as the contact entry has it; '' when not a contact. */
  with_name: string;
  site: string;
  role: Role;
  created: string | null;
  cs3_path?: string;
}

export interface IOCMReceived {
  id: string;
  name: string;
  state: string;
  owner: string;
  /** The owner's name as her contact entry has it; '' when she is no contact. */
  owner_name: string;
  site: string;
  role: Role;
  type: 'file' | 'directory';
  cs3_path: string;
  /** Where the file browser shows it (the Federated shares folder); null until accepted. */
  path: string | null;
  created: string | null;
}

const json = (method: string, body?: unknown): RequestInit => ({
  method,
  body: body === undefined ? undefined : JSON.stringify(body)
});
const q = (value: string): string => encodeURIComponent(value);

export const sharingAPI = {
  findUsers: (query: string) =>
    requestAPI<{ users: IPerson[] }>(`sharing/users?q=${q(query)}`),
  findGroups: (query: string) =>
    requestAPI<{ groups: IGroup[] }>(`sharing/groups?q=${q(query)}`),

  access: (path: string) => requestAPI<IAccess>(`shares?path=${q(path)}`),
  sharedByMe: () => requestAPI<{ shares: IShare[]; links: ILink[] }>('shares'),
  share: (path: string, grantee: { type: string; name: string }, role: Role) =>
    requestAPI<IShare>('shares', json('POST', { path, grantee, role })),
  updateShare: (id: string, role: Role) =>
    requestAPI<IShare>(`shares/${q(id)}`, json('PATCH', { role })),
  revoke: (id: string) => requestAPI<void>(`shares/${q(id)}`, json('DELETE')),

  received: () => requestAPI<{ shares: IReceivedShare[] }>('shares/received'),
  setReceivedState: (id: string, state: 'accepted' | 'declined') =>
    requestAPI<IReceivedShare>(
      `shares/received/${q(id)}`,
      json('PATCH', { state })
    ),

  links: (path: string) =>
    requestAPI<{ links: ILink[] }>(`links?path=${q(path)}`),
  createLink: (body: {
    path: string;
    role: Role;
    password?: string;
    expiration?: string;
    name?: string;
  }) => requestAPI<ILink>('links', json('POST', body)),
  updateLink: (
    id: string,
    body: {
      role?: Role;
      password?: string | null;
      expiration?: string | null;
    }
  ) => requestAPI<ILink>(`links/${q(id)}`, json('PATCH', body)),
  deleteLink: (id: string) =>
    requestAPI<void>(`links/${q(id)}`, json('DELETE')),

  invite: (description = '') =>
    requestAPI<IInvitation>('ocm/invitations', json('POST', { description })),
  acceptInvitation: (invitation: string) =>
    requestAPI<IContact>(
      'ocm/invitations/accept',
      json('POST', { invitation })
    ),
  contacts: (query = '') =>
    requestAPI<IContact[]>(`ocm/contacts?q=${q(query)}`),
  ocmShare: (path: string, contact: string, role: Role) =>
    requestAPI<IOCMShare>('ocm/shares', json('POST', { path, contact, role })),
  ocmShares: () => requestAPI<IOCMShare[]>('ocm/shares'),
  ocmRevoke: (id: string) =>
    requestAPI<void>(`ocm/shares/${q(id)}`, json('DELETE')),
  ocmReceived: () => requestAPI<IOCMReceived[]>('ocm/received'),
  ocmSetState: (id: string, state: 'accepted' | 'declined') =>
    requestAPI<IOCMReceived>(`ocm/received/${q(id)}`, json('PATCH', { state }))
};

/** "Bob Berger" or "bob", for a person or group. */
export function granteeLabel(g: IGrantee | IPerson): string {
  return g.display_name || (g as IPerson).username || (g as IGroup).name || '';
}

export function roleLabel(role: Role): string {
  return ROLE_LABELS[role] ?? role;
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) {
    return '';
  }
  const date = new Date(iso);
  return isNaN(date.getTime()) ? iso : date.toLocaleDateString();
}
