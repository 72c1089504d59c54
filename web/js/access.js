// What the principal the dashboard acts as may do, from `GET /api/v1/auth/status`'s `principal`
// (`{kind: 'account'}`, `{kind: 'key', scope, site}` with `site: null` for all sites, `{kind: 'share', site}`).
// The screens offer only these, so nobody meets a Save button that can only fail. The API decides anyway;
// this mirrors its rules in http/manage.rs.

/** Nothing known about the principal: offer nothing that writes. */
const NOBODY = { kind: 'unknown' };

export function permissions(principal) {
  const p = principal && typeof principal === 'object' ? principal : NOBODY;
  const account = p.kind === 'account';
  const siteKey = p.kind === 'key' && p.scope === 'sites:write';
  return {
    // An account owns the sites it adds; an all-sites sites:write key adds sites for the administrator.
    addSite: account || (siteKey && p.site == null),
    manageSite: (siteId) => account || (siteKey && (p.site == null || String(p.site) === String(siteId))),
    // Scopes do not nest: a sites:write key reads settings, not reports.
    readStats: p.kind !== 'key' || p.scope === 'stats:read',
    // Keys and share links are credentials: only a signed-in account mints or revokes them.
    manageCredentials: account,
  };
}

/** A sentence for the read-only settings screen: who is looking and why they cannot change anything. */
export function readOnlyReason(principal) {
  if (principal && principal.kind === 'key') return `This API key (${principal.scope}) can read these settings but not change them.`;
  return 'You can read these settings but not change them.';
}
