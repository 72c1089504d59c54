// What the principal the dashboard acts as may do, from `GET /api/v1/auth/status`'s `principal`
// (`{kind: 'account'}`, `{kind: 'key', scope, site}` with `site: null` for all sites, `{kind: 'share', site}`)
// and, for an account, its `role` on each site of `GET /api/v1/sites` (`owner`, `admin`, `viewer`).
// The screens offer only these, so nobody meets a Save button that can only fail. The API decides anyway;
// this mirrors its one rule in http/access.rs.

/** Nothing known about the principal: offer nothing that writes. */
const NOBODY = { kind: 'unknown' };

export function permissions(principal, sites = []) {
  const p = principal && typeof principal === 'object' ? principal : NOBODY;
  const account = p.kind === 'account';
  const siteKey = p.kind === 'key' && p.scope === 'sites:write';
  const roleOf = (siteId) => {
    const site = sites.find((s) => String(s.id) === String(siteId));
    return site && typeof site.role === 'string' ? site.role : null;
  };
  // Owners and admins manage a site; a viewer reads it.
  const manages = (siteId) => account && ['owner', 'admin'].includes(roleOf(siteId));
  return {
    // An account owns the sites it adds; an all-sites sites:write key adds sites for the administrator.
    addSite: account || (siteKey && p.site == null),
    manageSite: (siteId) => manages(siteId) || (siteKey && (p.site == null || String(p.site) === String(siteId))),
    // Scopes do not nest: a sites:write key reads settings, not reports.
    readStats: p.kind !== 'key' || p.scope === 'stats:read',
    // Keys, share links and people: only a signed-in owner or admin manages them.
    manageCredentials: (siteId) => manages(siteId),
    managePeople: (siteId) => manages(siteId),
    // Only the owner gives the site away.
    ownsSite: (siteId) => account && roleOf(siteId) === 'owner',
    // A member's own place on a site: a viewer or admin may leave it.
    role: (siteId) => (account ? roleOf(siteId) : null),
    account,
  };
}

/** A sentence for the read-only settings screen: who is looking and why they cannot change anything. */
export function readOnlyReason(principal) {
  if (principal && principal.kind === 'key') return `This API key (${principal.scope}) can read these settings but not change them.`;
  return 'You can read these settings but not change them.';
}
